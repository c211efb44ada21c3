/**
 * The demo catalogue's generated sources: what a studio would deliver, made with ffmpeg's lavfi
 * generators. Each title is a 1280x720 25 fps H.264 mezzanine (2 s GOP) with its English audio,
 * a Spanish audio file and WebVTT subtitles in English and Spanish. One more source is broken on
 * purpose (frames missing, frozen and black stretches, audio that stops early): the ingest
 * pipeline must reject it.
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { evenCues, normalisedWebvtt } from "../ingest/vtt";
import { meaningfulStderr, run, runChecked } from "../ingest/exec";
import { ffmpegPath } from "../ingest/ffmpeg-path";

export const FPS = 25;
export const SEGMENT_SECONDS = 4;
export const DURATION_S = 24;
export const FRAME_COUNT = FPS * DURATION_S; // 600
/** source GOP: keyframes every 2 s, so every 4 s segment boundary is a source keyframe */
export const SOURCE_GOP = 2 * FPS;
/** rung heights of the demo ladder (bitrates are chosen per title by the pipeline) */
export const DEMO_HEIGHTS = [240, 480, 720];
/** encode chunk length: one segment, so a 24 s title is 6 chunks */
export const DEMO_CHUNK_SECONDS = 4;

export interface LanguageSpec {
  code: string;
  name: string;
}

export const LANGUAGES: LanguageSpec[] = [
  { code: "en", name: "English" },
  { code: "es", name: "Spanish" },
];

export interface TitleSpec {
  id: string;
  name: string;
  description: string;
  releaseYear: number;
  /** lavfi filtergraph (no inputs) producing the 1280x720@25 picture; output label [base] */
  sourceGraph: string;
  /** tone (Hz) of the English track; the Spanish one is 1.5x with another beep pattern */
  toneHz: number;
  cues: Record<string, string[]>;
}

const W = 1280;
const H = 720;

export const TITLES: TitleSpec[] = [
  {
    id: "sintel-sunrise",
    name: "Sintel Sunrise",
    description: "A slow dive into a colour-cycling Mandelbrot dawn.",
    releaseYear: 2021,
    sourceGraph:
      `mandelbrot=s=480x270:r=${FPS}:maxiter=128:start_scale=3:end_scale=0.05,` + `scale=${W}:${H}:flags=bicubic,hue=H=2*PI*t/${DURATION_S}+1.2:s=1.2[base]`,
    toneHz: 440,
    cues: {
      en: ["English subtitles", "The sky begins to glow.", "Colours drift across the fractal.", "Deeper and deeper we go.", "The sun is up."],
      es: ["Subtítulos en español", "El cielo empieza a brillar.", "Los colores cruzan el fractal.", "Cada vez más profundo.", "Ya salió el sol."],
    },
  },
  {
    id: "orbit-city",
    name: "Orbit City",
    description: "A test card orbits above a city of cellular-automaton lights.",
    releaseYear: 2022,
    sourceGraph:
      // the city's lights change twice a second; the satellite moves every frame
      `life=s=160x90:r=2:mold=10:ratio=0.3:seed=42:life_color=#00ff88:death_color=#5a1040:mold_color=#101830,fps=${FPS},` +
      `scale=${W}:${H}:flags=neighbor[city];` +
      `testsrc2=s=240x240:r=${FPS}[sat];` +
      `[city][sat]overlay=x='(W-w)/2+420*cos(2*PI*t/8)':y='(H-h)/2+200*sin(2*PI*t/8)':eval=frame[base]`,
    toneHz: 523.25,
    cues: {
      en: ["English subtitles", "A satellite circles the grid.", "The lights of the city shift.", "One more orbit.", "Signing off from orbit."],
      es: [
        "Subtítulos en español",
        "Un satélite rodea la cuadrícula.",
        "Las luces de la ciudad cambian.",
        "Una órbita más.",
        "Nos despedimos desde la órbita.",
      ],
    },
  },
  {
    id: "signal-test",
    name: "Signal Test",
    description: "SMPTE HD colour bars with a bouncing test pattern and a running timecode.",
    releaseYear: 2023,
    sourceGraph:
      `smptehdbars=s=${W}x${H}:r=${FPS},noise=c0s=6:allf=t+u[bars];` +
      `testsrc=s=256x144:r=${FPS}[box];` +
      `[bars][box]overlay=x='abs(mod(t*300\\,2*(W-w))-(W-w))':y='H*0.42':eval=frame[base]`,
    toneHz: 1000,
    cues: {
      en: ["English subtitles", "This is a test of the streaming system.", "Colour bars are nominal.", "Audio tone is steady.", "End of signal test."],
      es: [
        "Subtítulos en español",
        "Esta es una prueba del sistema de streaming.",
        "Las barras de color son correctas.",
        "El tono de audio es estable.",
        "Fin de la prueba de señal.",
      ],
    },
  },
];

/** The deliberately broken delivery: the pipeline must refuse it, with every reason. */
export const BROKEN_SOURCE = {
  id: "dead-air",
  name: "Dead Air",
  description: "A broken delivery: 10 frames missing at 2 s, 9 s frozen, 5 s black, and audio that stops after 6 s of 18.",
  /** reason codes validation must report */
  expectedReasons: ["frame_gaps", "frozen", "black", "av_duration_mismatch"],
  graph:
    `testsrc2=s=320x180:r=${FPS}:d=3,select='not(between(n\\,50\\,59))'[a];` +
    `color=c=0x336699:s=320x180:r=${FPS}:d=9[b];` +
    `color=c=black:s=320x180:r=${FPS}:d=5[c];` +
    `testsrc2=s=320x180:r=${FPS}:d=1[d];` +
    `[a][b][c][d]concat=n=4:v=1:a=0,format=yuv420p[v];` +
    `sine=f=300:d=6:sample_rate=48000[au]`,
};

const FONT_CANDIDATES = [
  "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
  "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
  "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
  "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
  "/usr/share/fonts/truetype/freefont/FreeSansBold.ttf",
  "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
  "/Library/Fonts/Arial.ttf",
  "/System/Library/Fonts/Supplemental/Arial.ttf",
];

export function findFontFile(): string | undefined {
  const fromEnv = process.env.CATALOGUE_FONT;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  return FONT_CANDIDATES.find((p) => existsSync(p));
}

/** Single-quotes a filter option value; only safe characters are allowed (filtergraph escaping has several levels). */
function filterQuote(s: string): string {
  if (!/^[A-Za-z0-9 ._/:-]+$/.test(s)) throw new Error(`unsafe text for ffmpeg filter option: ${JSON.stringify(s)}`);
  return `'${s}'`;
}

function fontOpt(fontFile: string | null): string {
  return fontFile ? `fontfile=${filterQuote(fontFile)}:` : "";
}

/** Checks drawtext (needs libfreetype + a font). Returns the font option, or null to draw no text. */
export async function detectDrawtext(log: (m: string) => void): Promise<{ fontFile: string | null } | null> {
  const candidates: Array<string | null> = [];
  const font = findFontFile();
  if (font) candidates.push(font);
  candidates.push(null); // fontconfig's default font
  for (const fontFile of candidates) {
    let args: string[];
    try {
      args = [
        "-hide_banner",
        "-nostdin",
        "-v",
        "error",
        "-f",
        "lavfi",
        "-i",
        `testsrc2=s=160x90:r=${FPS}:d=0.2`,
        "-vf",
        `drawtext=${fontOpt(fontFile)}text='Probe %{pts\\:hms}':fontsize=20:fontcolor=white`,
        "-f",
        "null",
        "-",
      ];
    } catch {
      continue;
    }
    const res = await run(ffmpegPath, args, { timeoutMs: 30_000 }).catch(() => null);
    if (res && res.code === 0 && meaningfulStderr(res.stderr) === "") {
      log(`drawtext available (${fontFile ?? "fontconfig default font"})`);
      return { fontFile };
    }
  }
  log("drawtext unavailable in this ffmpeg (or no font found): sources are rendered without text");
  return null;
}

export interface GeneratedSource {
  id: string;
  source: string;
  audio: Array<{ language: string; path: string }>;
  subtitles: Array<{ language: string; path: string }>;
}

/**
 * Renders one title's delivery into `dir`: source.mp4 (H.264 CRF 18 + English AAC), audio-es.m4a,
 * sub-en.vtt, sub-es.vtt.
 */
export async function generateTitleSource(title: TitleSpec, dir: string, text: { fontFile: string | null } | null): Promise<GeneratedSource> {
  await mkdir(dir, { recursive: true });
  const overlays: string[] = [];
  if (text) {
    const f = fontOpt(text.fontFile);
    overlays.push(
      `drawtext=${f}text=${filterQuote(title.name)}:fontsize=72:fontcolor=white:borderw=4:bordercolor=black:x=(w-tw)/2:y=56`,
      // running timecode + frame number (pts:hms expands to HH:MM:SS.mmm)
      `drawtext=${f}text='%{pts\\:hms}  #%{n}':fontsize=44:fontcolor=yellow:borderw=3:bordercolor=black:x=(w-tw)/2:y=h-th-56`,
    );
  }
  const graph = [title.sourceGraph, [`[base]trim=end_frame=${FRAME_COUNT},setpts=PTS-STARTPTS`, ...overlays, "format=yuv420p[v]"].join(",")].join(";");
  const source = join(dir, "source.mp4");
  const es = join(dir, "audio-es.m4a");
  await runChecked(
    ffmpegPath,
    [
      "-hide_banner",
      "-nostdin",
      "-y",
      "-v",
      "error",
      "-f",
      "lavfi",
      "-i",
      `sine=frequency=${title.toneHz}:beep_factor=2:sample_rate=48000:duration=${DURATION_S}`,
      "-f",
      "lavfi",
      "-i",
      `sine=frequency=${title.toneHz * 1.5}:beep_factor=4:sample_rate=48000:duration=${DURATION_S}`,
      "-filter_complex",
      graph,
      // the mezzanine: near-lossless, fast to make, keyframe every 2 s
      "-map",
      "[v]",
      "-map",
      "0:a",
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-crf",
      "20",
      "-g",
      String(SOURCE_GOP),
      "-keyint_min",
      String(SOURCE_GOP),
      "-sc_threshold",
      "0",
      "-c:a",
      "aac",
      "-b:a",
      "192k",
      "-ac",
      "2",
      "-metadata:s:a:0",
      "language=eng",
      "-movflags",
      "+faststart",
      source,
      "-map",
      "1:a",
      "-c:a",
      "aac",
      "-b:a",
      "192k",
      "-ac",
      "2",
      "-metadata:s:a:0",
      "language=spa",
      es,
    ],
    `source of ${title.id}`,
    { timeoutMs: 15 * 60_000 },
  );
  const subtitles: GeneratedSource["subtitles"] = [];
  for (const lang of LANGUAGES) {
    const p = join(dir, `sub-${lang.code}.vtt`);
    await writeFile(
      p,
      normalisedWebvtt(
        evenCues(
          title.cues[lang.code].map((line) => [title.name, line]),
          DURATION_S,
        ),
      ),
    );
    subtitles.push({ language: lang.code, path: p });
  }
  return { id: title.id, source, audio: [{ language: "es", path: es }], subtitles };
}

/** The broken delivery (small: it never gets past validation). */
export async function generateBrokenSource(dir: string): Promise<GeneratedSource> {
  await mkdir(dir, { recursive: true });
  const source = join(dir, "source.mp4");
  await runChecked(
    ffmpegPath,
    [
      "-hide_banner",
      "-nostdin",
      "-y",
      "-v",
      "error",
      "-filter_complex",
      BROKEN_SOURCE.graph,
      "-map",
      "[v]",
      "-map",
      "[au]",
      "-vsync",
      "passthrough",
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-crf",
      "18",
      "-g",
      String(SOURCE_GOP),
      "-c:a",
      "aac",
      "-b:a",
      "128k",
      "-movflags",
      "+faststart",
      source,
    ],
    "broken source",
    { timeoutMs: 120_000 },
  );
  return { id: BROKEN_SOURCE.id, source, audio: [], subtitles: [] };
}
