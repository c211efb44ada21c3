-- A title version's poster: the path of one of its files (poster.jpg, .png or .webp at the title root),
-- shown in the browse list and served publicly by GET /v1/titles/{id}/poster/{version}. Part of the
-- version like its files, so a poster URL naming a version always means the same bytes. NULL: none.
ALTER TABLE title_versions ADD COLUMN poster TEXT;
