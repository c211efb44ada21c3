/**
 * Minimal ISO-BMFF (MP4) reader/writer used to turn ffmpeg's fragmented MP4
 * output into CMAF-style init + media segments.
 *
 * (Moved here from r2-seed/catalogue-mp4.ts; now also reads vp09/av01 sample entries.)
 *
 * Why: the npm ffmpeg is a 2018 static build whose HLS fMP4 / DASH muxers are
 * unreliable, and its fragmenter cannot cut audio on exact 4 s boundaries.
 * So ffmpeg only produces one fragmented MP4 per rendition
 * (`-movflags frag_keyframe+empty_moov+default_base_moof`), and this module:
 *   - takes ftyp+moov as the init segment,
 *   - reads every sample (decode time, duration, size, flags, composition offset, bytes),
 *   - regroups the samples into segments on our own boundaries and writes
 *     `styp` + `moof(mfhd, traf(tfhd, tfdt, trun))` + `mdat` for each.
 * Sample data and decode timestamps are preserved exactly.
 */

export interface Box {
  type: string;
  /** offset of the box header in the buffer */
  start: number;
  /** total size including header */
  size: number;
  headerSize: number;
}

export function readBoxes(buf: Buffer, start = 0, end = buf.length): Box[] {
  const boxes: Box[] = [];
  let i = start;
  while (i + 8 <= end) {
    let size = buf.readUInt32BE(i);
    const type = buf.toString("latin1", i + 4, i + 8);
    let headerSize = 8;
    if (size === 1) {
      size = Number(buf.readBigUInt64BE(i + 8));
      headerSize = 16;
    } else if (size === 0) {
      size = end - i;
    }
    if (size < headerSize || i + size > end) {
      throw new Error(`mp4: bad box '${type}' size ${size} at ${i} (end ${end})`);
    }
    boxes.push({ type, start: i, size, headerSize });
    i += size;
  }
  return boxes;
}

function child(buf: Buffer, parent: Box, type: string, offset = 0): Box | undefined {
  return readBoxes(buf, parent.start + parent.headerSize + offset, parent.start + parent.size).find((b) => b.type === type);
}

function path(buf: Buffer, root: Box, ...types: string[]): Box | undefined {
  let cur: Box | undefined = root;
  for (const t of types) {
    if (!cur) return undefined;
    cur = child(buf, cur, t);
  }
  return cur;
}

function mustPath(buf: Buffer, root: Box, ...types: string[]): Box {
  const b = path(buf, root, ...types);
  if (!b) throw new Error(`mp4: missing ${root.type}/${types.join("/")}`);
  return b;
}

const body = (b: Box): number => b.start + b.headerSize;

export interface Sample {
  decodeTime: number;
  duration: number;
  size: number;
  flags: number;
  /** composition time offset (may be negative) */
  cto: number;
  /** offset of the sample bytes in the source buffer */
  dataOffset: number;
}

/** sample_is_non_sync_sample flag (ISO/IEC 14496-12 8.8.3.1) */
export const isSyncSample = (flags: number): boolean => (flags & 0x00010000) === 0;

export interface TrackInfo {
  handler: "vide" | "soun";
  trackId: number;
  timescale: number;
  /** RFC 6381 codec string from the sample entry (avc1.PPCCLL / vp09.PP.LL.DD / av01.P.LLT.DD / mp4a.OO.A) */
  codec: string;
  /** the whole stsd box: chunks of one rendition must have byte-identical sample descriptions */
  sampleDescription: Buffer;
  width?: number;
  height?: number;
  channels?: number;
  sampleRate?: number;
}

export interface FragmentedMp4 {
  source: Buffer;
  /** ftyp + moov, usable as-is as the init segment */
  init: Buffer;
  track: TrackInfo;
  samples: Sample[];
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}

function dec2(n: number): string {
  return String(n).padStart(2, "0");
}

/** Smallest VP9 level (as 10*major+minor) whose picture size fits, for encoders that write level 0. */
function vp9Level(width: number, height: number): number {
  const px = width * height;
  const levels: Array<[number, number]> = [
    [36864, 10],
    [73728, 11],
    [122880, 20],
    [245760, 21],
    [552960, 30],
    [983040, 31],
    [2228224, 40],
    [8912896, 50],
    [35651584, 60],
  ];
  return levels.find(([max]) => px <= max)?.[1] ?? 62;
}

/** Reads an MPEG-4 descriptor header (tag + variable-length size). */
function readDescriptor(buf: Buffer, i: number): { tag: number; size: number; bodyStart: number } {
  const tag = buf[i];
  let size = 0;
  let j = i + 1;
  for (let k = 0; k < 4; k++) {
    const b = buf[j++];
    size = (size << 7) | (b & 0x7f);
    if ((b & 0x80) === 0) break;
  }
  return { tag, size, bodyStart: j };
}

function mp4aCodec(buf: Buffer, esds: Box): string {
  // esds: FullBox header (4) then ES_Descriptor
  let i = body(esds) + 4;
  const es = readDescriptor(buf, i);
  if (es.tag !== 0x03) throw new Error("mp4: esds without ES_Descriptor");
  i = es.bodyStart + 2; // ES_ID
  const flags = buf[i++];
  if (flags & 0x80) i += 2; // streamDependenceFlag
  if (flags & 0x40) i += 1 + buf[i]; // URL_Flag
  if (flags & 0x20) i += 2; // OCRstreamFlag
  const dc = readDescriptor(buf, i);
  if (dc.tag !== 0x04) throw new Error("mp4: esds without DecoderConfigDescriptor");
  const oti = buf[dc.bodyStart];
  let codec = `mp4a.${hex2(oti)}`;
  const dsi = readDescriptor(buf, dc.bodyStart + 13);
  if (oti === 0x40 && dsi.tag === 0x05) {
    let aot = buf[dsi.bodyStart] >> 3;
    if (aot === 31) aot = 32 + (((buf[dsi.bodyStart] & 0x07) << 3) | (buf[dsi.bodyStart + 1] >> 5));
    codec += `.${aot}`;
  }
  return codec;
}

function parseTrack(buf: Buffer, moov: Box): TrackInfo {
  const traks = readBoxes(buf, body(moov), moov.start + moov.size).filter((b) => b.type === "trak");
  if (traks.length !== 1) throw new Error(`mp4: expected exactly 1 trak, got ${traks.length}`);
  const trak = traks[0];
  const tkhd = mustPath(buf, trak, "tkhd");
  const tkhdVersion = buf[body(tkhd)];
  const trackId = buf.readUInt32BE(body(tkhd) + 4 + (tkhdVersion === 1 ? 16 : 8));
  const mdhd = mustPath(buf, trak, "mdia", "mdhd");
  const mdhdVersion = buf[body(mdhd)];
  const timescale = buf.readUInt32BE(body(mdhd) + 4 + (mdhdVersion === 1 ? 16 : 8));
  const hdlr = mustPath(buf, trak, "mdia", "hdlr");
  const handler = buf.toString("latin1", body(hdlr) + 8, body(hdlr) + 12);
  if (handler !== "vide" && handler !== "soun") throw new Error(`mp4: unsupported handler ${handler}`);
  const stsd = mustPath(buf, trak, "mdia", "minf", "stbl", "stsd");
  // stsd: FullBox(4) + entry_count(4) + entries
  const [entry] = readBoxes(buf, body(stsd) + 8, stsd.start + stsd.size);
  if (!entry) throw new Error("mp4: empty stsd");
  const e = body(entry);
  const sampleDescription = Buffer.from(buf.subarray(stsd.start, stsd.start + stsd.size));
  if (handler === "vide") {
    const width = buf.readUInt16BE(e + 24);
    const height = buf.readUInt16BE(e + 26);
    const kids = readBoxes(buf, e + 78, entry.start + entry.size);
    let codec: string;
    if (entry.type === "avc1" || entry.type === "avc3") {
      const avcC = kids.find((b) => b.type === "avcC");
      if (!avcC) throw new Error("mp4: avc1 without avcC");
      const a = body(avcC);
      codec = `${entry.type}.${hex2(buf[a + 1])}${hex2(buf[a + 2])}${hex2(buf[a + 3])}`;
    } else if (entry.type === "vp09") {
      const vpcC = kids.find((b) => b.type === "vpcC");
      if (!vpcC) throw new Error("mp4: vp09 without vpcC");
      const a = body(vpcC) + 4; // FullBox header
      const profile = buf[a];
      const level = buf[a + 1] || vp9Level(width, height);
      const bitDepth = buf[a + 2] >> 4;
      codec = `vp09.${dec2(profile)}.${dec2(level)}.${dec2(bitDepth)}`;
    } else if (entry.type === "av01") {
      const av1C = kids.find((b) => b.type === "av1C");
      if (!av1C) throw new Error("mp4: av01 without av1C");
      const a = body(av1C);
      if (av1C.size - av1C.headerSize < 4) {
        // the 2018 ffmpeg writes an empty av1C: see fixAv1Init()
        return { handler, trackId, timescale, codec: "av01", width, height, sampleDescription };
      }
      const profile = buf[a + 1] >> 5;
      const level = buf[a + 1] & 0x1f;
      const tier = buf[a + 2] >> 7 ? "H" : "M";
      const highBitDepth = (buf[a + 2] >> 6) & 1;
      const twelveBit = (buf[a + 2] >> 5) & 1;
      const bitDepth = highBitDepth ? (twelveBit ? 12 : 10) : 8;
      codec = `av01.${profile}.${dec2(level)}${tier}.${dec2(bitDepth)}`;
    } else {
      throw new Error(`mp4: unsupported video entry ${entry.type}`);
    }
    return { handler, trackId, timescale, codec, width, height, sampleDescription };
  }
  if (entry.type !== "mp4a") throw new Error(`mp4: unsupported audio entry ${entry.type}`);
  const channels = buf.readUInt16BE(e + 16);
  const sampleRate = buf.readUInt32BE(e + 24) >>> 16;
  const esds = readBoxes(buf, e + 28, entry.start + entry.size).find((b) => b.type === "esds");
  if (!esds) throw new Error("mp4: mp4a without esds");
  return { handler, trackId, timescale, codec: mp4aCodec(buf, esds), channels, sampleRate, sampleDescription };
}

/** Parses a single-track fragmented MP4 (ftyp, moov with mvex, moof/mdat pairs, optional mfra). */
export function parseFragmentedMp4(buf: Buffer): FragmentedMp4 {
  const top = readBoxes(buf);
  const ftyp = top.find((b) => b.type === "ftyp");
  const moov = top.find((b) => b.type === "moov");
  if (!ftyp || !moov) throw new Error("mp4: missing ftyp/moov");
  if (ftyp.start + ftyp.size !== moov.start) throw new Error("mp4: ftyp must directly precede moov");
  const track = parseTrack(buf, moov);

  let trex = { duration: 0, size: 0, flags: 0 };
  const mvex = path(buf, moov, "mvex");
  if (!mvex) throw new Error("mp4: not fragmented (no mvex) - was -movflags empty_moov used?");
  for (const b of readBoxes(buf, body(mvex), mvex.start + mvex.size)) {
    if (b.type === "trex" && buf.readUInt32BE(body(b) + 4) === track.trackId) {
      trex = {
        duration: buf.readUInt32BE(body(b) + 12),
        size: buf.readUInt32BE(body(b) + 16),
        flags: buf.readUInt32BE(body(b) + 20),
      };
    }
  }

  const samples: Sample[] = [];
  let nextDecodeTime = 0;
  for (const moof of top.filter((b) => b.type === "moof")) {
    for (const traf of readBoxes(buf, body(moof), moof.start + moof.size).filter((b) => b.type === "traf")) {
      const tfhd = mustPath(buf, traf, "tfhd");
      let p = body(tfhd);
      const tfFlags = buf.readUInt32BE(p) & 0xffffff;
      p += 4;
      const trackId = buf.readUInt32BE(p);
      p += 4;
      if (trackId !== track.trackId) continue;
      let base = moof.start;
      if (tfFlags & 0x1) {
        base = Number(buf.readBigUInt64BE(p));
        p += 8;
      }
      if (tfFlags & 0x2) p += 4;
      let defDuration = trex.duration;
      let defSize = trex.size;
      let defFlags = trex.flags;
      if (tfFlags & 0x8) (defDuration = buf.readUInt32BE(p)), (p += 4);
      if (tfFlags & 0x10) (defSize = buf.readUInt32BE(p)), (p += 4);
      if (tfFlags & 0x20) (defFlags = buf.readUInt32BE(p)), (p += 4);

      const tfdt = path(buf, traf, "tfdt");
      if (tfdt) {
        const v = buf[body(tfdt)];
        nextDecodeTime = v === 1 ? Number(buf.readBigUInt64BE(body(tfdt) + 4)) : buf.readUInt32BE(body(tfdt) + 4);
      }

      let dataPos = base;
      for (const trun of readBoxes(buf, body(traf), traf.start + traf.size).filter((b) => b.type === "trun")) {
        let q = body(trun);
        const version = buf[q];
        const trFlags = buf.readUInt32BE(q) & 0xffffff;
        q += 4;
        const count = buf.readUInt32BE(q);
        q += 4;
        if (trFlags & 0x1) (dataPos = base + buf.readInt32BE(q)), (q += 4);
        let firstFlags: number | undefined;
        if (trFlags & 0x4) (firstFlags = buf.readUInt32BE(q)), (q += 4);
        for (let s = 0; s < count; s++) {
          let duration = defDuration;
          let size = defSize;
          let flags = s === 0 && firstFlags !== undefined ? firstFlags : defFlags;
          let cto = 0;
          if (trFlags & 0x100) (duration = buf.readUInt32BE(q)), (q += 4);
          if (trFlags & 0x200) (size = buf.readUInt32BE(q)), (q += 4);
          if (trFlags & 0x400) (flags = buf.readUInt32BE(q)), (q += 4);
          if (trFlags & 0x800) (cto = version === 1 ? buf.readInt32BE(q) : buf.readUInt32BE(q)), (q += 4);
          if (dataPos + size > buf.length) throw new Error("mp4: sample data out of range");
          samples.push({ decodeTime: nextDecodeTime, duration, size, flags, cto, dataOffset: dataPos });
          nextDecodeTime += duration;
          dataPos += size;
        }
      }
    }
  }
  if (samples.length === 0) throw new Error("mp4: no samples");
  const init = Buffer.concat([buf.subarray(ftyp.start, ftyp.start + ftyp.size), stripEditLists(buf, moov)]);
  return { source: buf, init, track, samples };
}

/**
 * Copies `moov` without any trak/edts (edit lists). Some ffmpeg versions write an elst for the
 * B-frame delay / AAC priming; we normalise timelines ourselves (presentation starts at 0),
 * so an edit list would shift playback.
 */
function stripEditLists(buf: Buffer, moov: Box): Buffer {
  const parts: Buffer[] = [];
  for (const b of readBoxes(buf, body(moov), moov.start + moov.size)) {
    if (b.type !== "trak") {
      parts.push(buf.subarray(b.start, b.start + b.size));
      continue;
    }
    const kids = readBoxes(buf, body(b), b.start + b.size)
      .filter((k) => k.type !== "edts")
      .map((k) => buf.subarray(k.start, k.start + k.size));
    parts.push(box("trak", ...kids));
  }
  return box("moov", ...parts);
}

function box(type: string, ...payload: Buffer[]): Buffer {
  const size = 8 + payload.reduce((n, b) => n + b.length, 0);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(size, 0);
  header.write(type, 4, "latin1");
  return Buffer.concat([header, ...payload], size);
}

function fullBoxHeader(version: number, flags: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(((version & 0xff) << 24) | (flags & 0xffffff), 0);
  return b;
}

function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => {
    b.writeUInt32BE(v >>> 0, i * 4);
  });
  return b;
}

/** `styp` for CMAF/DASH media segments. */
const STYP = box("styp", Buffer.from("msdh", "latin1"), u32(0), Buffer.from("msdhmsix", "latin1"));

/**
 * Writes one media segment (styp + moof + mdat) for `samples` (contiguous, in decode order).
 * Uses default-base-is-moof addressing, tfdt v1, trun v1 when any composition offset is negative.
 */
export function buildMediaSegment(src: Buffer, trackId: number, sequenceNumber: number, samples: Sample[]): Buffer {
  if (samples.length === 0) throw new Error("mp4: empty segment");
  const allSameDuration = samples.every((s) => s.duration === samples[0].duration);
  const restFlags = samples.length > 1 ? samples[1].flags : samples[0].flags;
  const restSameFlags = samples.slice(1).every((s) => s.flags === restFlags);
  const hasCto = samples.some((s) => s.cto !== 0);
  const negativeCto = samples.some((s) => s.cto < 0);

  // tfhd: default-base-is-moof + default duration/flags when uniform
  let tfFlags = 0x020000 | 0x20;
  const tfhdFields = [trackId];
  if (allSameDuration) {
    tfFlags |= 0x8;
    tfhdFields.push(samples[0].duration);
  }
  tfhdFields.push(restFlags);
  const tfhd = box("tfhd", fullBoxHeader(0, tfFlags), u32(...tfhdFields));

  const dt = Buffer.alloc(8);
  dt.writeBigUInt64BE(BigInt(samples[0].decodeTime));
  const tfdt = box("tfdt", fullBoxHeader(1, 0), dt);

  let trFlags = 0x1 | 0x200;
  if (!allSameDuration) trFlags |= 0x100;
  const firstDiffers = samples[0].flags !== restFlags;
  if (!restSameFlags) trFlags |= 0x400;
  else if (firstDiffers) trFlags |= 0x4;
  if (hasCto) trFlags |= 0x800;
  const perSample = ((trFlags & 0x100 ? 1 : 0) + 1 + (trFlags & 0x400 ? 1 : 0) + (trFlags & 0x800 ? 1 : 0)) * 4;
  const trunPayload = Buffer.alloc(4 + 4 + 4 + (trFlags & 0x4 ? 4 : 0) + perSample * samples.length);
  let q = 0;
  trunPayload.writeUInt32BE(((negativeCto ? 1 : 0) << 24) | trFlags, q);
  q += 4;
  trunPayload.writeUInt32BE(samples.length, q);
  q += 4;
  const dataOffsetPos = q;
  q += 4;
  if (trFlags & 0x4) trunPayload.writeUInt32BE(samples[0].flags >>> 0, q), (q += 4);
  for (const s of samples) {
    if (trFlags & 0x100) trunPayload.writeUInt32BE(s.duration, q), (q += 4);
    trunPayload.writeUInt32BE(s.size, q);
    q += 4;
    if (trFlags & 0x400) trunPayload.writeUInt32BE(s.flags >>> 0, q), (q += 4);
    if (trFlags & 0x800) {
      if (negativeCto) trunPayload.writeInt32BE(s.cto, q);
      else trunPayload.writeUInt32BE(s.cto, q);
      q += 4;
    }
  }
  const trun = box("trun", trunPayload);
  const mfhd = box("mfhd", fullBoxHeader(0, 0), u32(sequenceNumber));
  const moofSize = 8 + mfhd.length + 8 + tfhd.length + tfdt.length + trun.length;
  // data_offset is relative to the moof start; sample data begins after the mdat header
  trun.writeInt32BE(moofSize + 8, 8 + dataOffsetPos);
  const moof = box("moof", mfhd, box("traf", tfhd, tfdt, trun));
  if (moof.length !== moofSize) throw new Error("mp4: moof size mismatch");

  const dataSize = samples.reduce((n, s) => n + s.size, 0);
  const mdat = Buffer.alloc(8 + dataSize);
  mdat.writeUInt32BE(mdat.length, 0);
  mdat.write("mdat", 4, "latin1");
  let w = 8;
  for (const s of samples) {
    src.copy(mdat, w, s.dataOffset, s.dataOffset + s.size);
    w += s.size;
  }
  return Buffer.concat([STYP, moof, mdat]);
}

/**
 * Rewrites the timeline of a constant-frame-rate video track so that decode times are
 * i*frameDuration and presentation times are (presentation rank)*frameDuration, i.e. the first
 * frame is presented at 0 and B-frames get negative composition offsets (trun v1). This
 * removes the B-frame delay without needing an edit list, and papers over differences between
 * ffmpeg versions (the 2018 static build mangles the first sample's duration with
 * -movflags negative_cts_offsets; without it, presentation starts at +2 frames and no elst is written).
 */
export function normaliseConstantFrameRate(samples: Sample[], frameDuration: number): Sample[] {
  const order = samples.map((s, i) => ({ i, pts: s.decodeTime + s.cto })).sort((a, b) => a.pts - b.pts || a.i - b.i);
  const rank = new Array<number>(samples.length);
  order.forEach((o, r) => {
    rank[o.i] = r;
  });
  return samples.map((s, i) => ({
    ...s,
    decodeTime: i * frameDuration,
    duration: frameDuration,
    cto: (rank[i] - i) * frameDuration,
  }));
}

export interface SegmentPlan {
  samples: Sample[];
  /** start in timescale units */
  start: number;
  /** duration in timescale units */
  duration: number;
}

/**
 * Splits samples into `count` segments of nominal `segmentDuration` (timescale units).
 * Video: every segment must start on a sync sample exactly at k*segmentDuration (throws otherwise).
 * Audio: every sample is a sync sample; cut at the sample boundary closest to k*segmentDuration
 * so boundaries never drift by more than half an audio frame.
 */
export function planSegments(samples: Sample[], segmentDuration: number, count: number, exact: boolean): SegmentPlan[] {
  const t0 = samples[0].decodeTime;
  const cuts: number[] = [0];
  for (let k = 1; k < count; k++) {
    const target = t0 + k * segmentDuration;
    let best = -1;
    for (let i = cuts[cuts.length - 1] + 1; i < samples.length; i++) {
      const s = samples[i];
      if (!isSyncSample(s.flags)) continue;
      if (exact) {
        if (s.decodeTime === target) best = i;
        if (s.decodeTime >= target) break;
      } else {
        if (best < 0 || Math.abs(s.decodeTime - target) < Math.abs(samples[best].decodeTime - target)) best = i;
        if (s.decodeTime > target) break;
      }
    }
    if (best < 0) throw new Error(`cannot cut segment ${k + 1} at ${target} (no suitable sync sample)`);
    cuts.push(best);
  }
  cuts.push(samples.length);
  const plans: SegmentPlan[] = [];
  for (let k = 0; k < count; k++) {
    const seg = samples.slice(cuts[k], cuts[k + 1]);
    if (seg.length === 0) throw new Error(`segment ${k + 1} is empty`);
    if (!isSyncSample(seg[0].flags)) throw new Error(`segment ${k + 1} does not start with a sync sample`);
    const last = seg[seg.length - 1];
    plans.push({ samples: seg, start: seg[0].decodeTime, duration: last.decodeTime + last.duration - seg[0].decodeTime });
  }
  return plans;
}

// ---------------------------------------------------------------------------------------------
// AV1: the 2018 ffmpeg writes an EMPTY av1C box (a pre-standard AV1-in-MP4 draft). Players (and
// newer ffmpeg demuxers) need the AV1 Codec Configuration Record of the AV1-ISOBMFF spec:
// profile/level/tier/bit depth/subsampling plus the sequence header OBU. We rebuild it from the
// sequence header OBU that the first keyframe carries.

class BitReader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}
  f(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.buf[this.pos >> 3];
      if (byte === undefined) throw new Error("av1: sequence header truncated");
      v = v * 2 + ((byte >> (7 - (this.pos & 7))) & 1);
      this.pos++;
    }
    return v;
  }
}

function leb128(buf: Buffer, i: number): { value: number; length: number } {
  let value = 0;
  for (let k = 0; k < 8; k++) {
    const b = buf[i + k];
    value += (b & 0x7f) * 2 ** (7 * k);
    if (!(b & 0x80)) return { value, length: k + 1 };
  }
  throw new Error("av1: bad leb128");
}

/** The OBU_SEQUENCE_HEADER (type 1) of a temporal unit, whole (header + size + payload), and its payload. */
export function findAv1SequenceHeader(sample: Buffer): { obu: Buffer; payload: Buffer } | null {
  let i = 0;
  while (i < sample.length) {
    const start = i;
    const header = sample[i++];
    const type = (header >> 3) & 0x0f;
    const ext = (header >> 2) & 1;
    const hasSize = (header >> 1) & 1;
    if (ext) i++;
    let size: number;
    if (hasSize) {
      const l = leb128(sample, i);
      size = l.value;
      i += l.length;
    } else size = sample.length - i;
    if (type === 1) return { obu: sample.subarray(start, i + size), payload: sample.subarray(i, i + size) };
    i += size;
  }
  return null;
}

export interface Av1SequenceInfo {
  profile: number;
  level: number;
  tier: number;
  bitDepth: number;
  monochrome: number;
  subsamplingX: number;
  subsamplingY: number;
  chromaSamplePosition: number;
}

/** Parses the fields of sequence_header_obu() that av1C and the codec string need (AV1 spec 5.5). */
export function parseAv1SequenceHeader(payload: Buffer): Av1SequenceInfo {
  const r = new BitReader(payload);
  const profile = r.f(3);
  r.f(1); // still_picture
  const reduced = r.f(1);
  let level = 0;
  let tier = 0;
  if (reduced) {
    level = r.f(5);
  } else {
    const timingInfo = r.f(1);
    let decoderModelInfo = 0;
    let bufferDelayLength = 0;
    if (timingInfo) {
      r.f(32); // num_units_in_display_tick
      r.f(32); // time_scale
      if (r.f(1)) {
        // equal_picture_interval: uvlc num_ticks_per_picture_minus_1
        let zeros = 0;
        while (!r.f(1)) zeros++;
        if (zeros < 32) r.f(zeros);
      }
      decoderModelInfo = r.f(1);
      if (decoderModelInfo) {
        bufferDelayLength = r.f(5) + 1;
        r.f(32); // num_units_in_decoding_tick
        r.f(5); // buffer_removal_time_length_minus_1
        r.f(5); // frame_presentation_time_length_minus_1
      }
    }
    const initialDisplayDelay = r.f(1);
    const ops = r.f(5) + 1;
    for (let i = 0; i < ops; i++) {
      r.f(12); // operating_point_idc
      const lvl = r.f(5);
      const t = lvl > 7 ? r.f(1) : 0;
      if (i === 0) {
        level = lvl;
        tier = t;
      }
      if (decoderModelInfo) {
        if (r.f(1)) {
          r.f(bufferDelayLength); // decoder_buffer_delay
          r.f(bufferDelayLength); // encoder_buffer_delay
          r.f(1); // low_delay_mode_flag
        }
      }
      if (initialDisplayDelay && r.f(1)) r.f(4);
    }
  }
  const wBits = r.f(4) + 1;
  const hBits = r.f(4) + 1;
  r.f(wBits);
  r.f(hBits);
  const frameIds = reduced ? 0 : r.f(1);
  if (frameIds) {
    r.f(4);
    r.f(3);
  }
  r.f(1); // use_128x128_superblock
  r.f(1); // enable_filter_intra
  r.f(1); // enable_intra_edge_filter
  if (!reduced) {
    r.f(1); // enable_interintra_compound
    r.f(1); // enable_masked_compound
    r.f(1); // enable_warped_motion
    r.f(1); // enable_dual_filter
    const orderHint = r.f(1);
    if (orderHint) {
      r.f(1); // enable_jnt_comp
      r.f(1); // enable_ref_frame_mvs
    }
    const chooseSct = r.f(1);
    const forceSct = chooseSct ? 2 : r.f(1);
    if (forceSct > 0) {
      const chooseImv = r.f(1);
      if (!chooseImv) r.f(1); // seq_force_integer_mv
    }
    if (orderHint) r.f(3);
  }
  r.f(1); // enable_superres
  r.f(1); // enable_cdef
  r.f(1); // enable_restoration
  // color_config()
  const highBitDepth = r.f(1);
  let bitDepth = 8;
  if (profile === 2 && highBitDepth) bitDepth = r.f(1) ? 12 : 10;
  else if (profile <= 2) bitDepth = highBitDepth ? 10 : 8;
  const monochrome = profile === 1 ? 0 : r.f(1);
  let cp = 2;
  let tc = 2;
  let mc = 2;
  if (r.f(1)) {
    cp = r.f(8);
    tc = r.f(8);
    mc = r.f(8);
  }
  let subsamplingX = 1;
  let subsamplingY = 1;
  let chromaSamplePosition = 0;
  if (monochrome) {
    r.f(1); // color_range
  } else if (cp === 1 && tc === 13 && mc === 0) {
    subsamplingX = 0;
    subsamplingY = 0;
  } else {
    r.f(1); // color_range
    if (profile === 0) {
      subsamplingX = 1;
      subsamplingY = 1;
    } else if (profile === 1) {
      subsamplingX = 0;
      subsamplingY = 0;
    } else if (bitDepth === 12) {
      subsamplingX = r.f(1);
      subsamplingY = subsamplingX ? r.f(1) : 0;
    } else {
      subsamplingX = 1;
      subsamplingY = 0;
    }
    if (subsamplingX && subsamplingY) chromaSamplePosition = r.f(2);
  }
  return { profile, level, tier, bitDepth, monochrome, subsamplingX, subsamplingY, chromaSamplePosition };
}

/** AV1CodecConfigurationRecord (AV1-ISOBMFF 2.3.3) with the sequence header as its config OBU. */
export function av1ConfigRecord(info: Av1SequenceInfo, sequenceHeaderObu: Buffer): Buffer {
  const head = Buffer.from([
    0x81, // marker 1, version 1
    (info.profile << 5) | info.level,
    (info.tier << 7) |
      ((info.bitDepth > 8 ? 1 : 0) << 6) |
      ((info.bitDepth === 12 ? 1 : 0) << 5) |
      (info.monochrome << 4) |
      (info.subsamplingX << 3) |
      (info.subsamplingY << 2) |
      info.chromaSamplePosition,
    0x00, // no initial_presentation_delay
  ]);
  return Buffer.concat([head, sequenceHeaderObu]);
}

export function av1CodecString(info: Av1SequenceInfo): string {
  return `av01.${info.profile}.${dec2(info.level)}${info.tier ? "H" : "M"}.${dec2(info.bitDepth)}`;
}

/** Bytes a box type carries before its child boxes (sample entries and FullBox containers). */
const CHILD_OFFSET: Record<string, number> = { stsd: 8, av01: 78 };

/** Returns `buf`'s box at `root` rebuilt with the descendant at `path` replaced by `leaf` (sizes fixed up). */
function replaceDescendant(buf: Buffer, root: Box, path: string[], leaf: Buffer): Buffer {
  const kidsStart = root.start + root.headerSize + (CHILD_OFFSET[root.type] ?? 0);
  const prefix = buf.subarray(root.start + root.headerSize, kidsStart);
  const kids = readBoxes(buf, kidsStart, root.start + root.size);
  const parts = kids.map((k) => {
    if (k.type !== path[0]) return buf.subarray(k.start, k.start + k.size);
    return path.length === 1 ? leaf : replaceDescendant(buf, k, path.slice(1), leaf);
  });
  return box(root.type, prefix, ...parts);
}

/**
 * For an av01 track whose av1C is empty, returns the init segment with a proper av1C built from
 * the first keyframe's sequence header, and the codec string; otherwise null.
 */
export function fixAv1Init(init: Buffer, firstKeyframe: Buffer): { init: Buffer; codec: string; sampleDescription: Buffer } | null {
  const top = readBoxes(init);
  const moov = top.find((b) => b.type === "moov");
  if (!moov) return null;
  const stsd = path(init, moov, "trak", "mdia", "minf", "stbl", "stsd");
  if (!stsd) return null;
  const [entry] = readBoxes(init, body(stsd) + 8, stsd.start + stsd.size);
  if (entry?.type !== "av01") return null;
  const av1C = readBoxes(init, body(entry) + 78, entry.start + entry.size).find((b) => b.type === "av1C");
  const seq = findAv1SequenceHeader(firstKeyframe);
  if (!seq) throw new Error("av1: the first keyframe carries no sequence header");
  const info = parseAv1SequenceHeader(seq.payload);
  if (av1C && av1C.size > 8 + 4) return null; // already a real record
  const record = box("av1C", av1ConfigRecord(info, seq.obu));
  const newMoov = av1C ? replaceDescendant(init, moov, ["trak", "mdia", "minf", "stbl", "stsd", "av01", "av1C"], record) : null;
  if (!newMoov) throw new Error("av1: av01 sample entry without av1C");
  const fixed = Buffer.concat([
    ...top
      .filter((b) => b.type !== "moov")
      .map((b) => init.subarray(b.start, b.start + b.size))
      .slice(0, 1),
    newMoov,
  ]);
  const parsed = readBoxes(fixed).find((b) => b.type === "moov")!;
  const newStsd = path(fixed, parsed, "trak", "mdia", "minf", "stbl", "stsd")!;
  return { init: fixed, codec: av1CodecString(info), sampleDescription: Buffer.from(fixed.subarray(newStsd.start, newStsd.start + newStsd.size)) };
}
