/**
 * Static definition of the demo catalogue: titles, ladder, audio/subtitle languages,
 * and the lavfi graphs / ffmpeg arguments that generate them.
 */
import { existsSync } from "node:fs";

export const FPS = 25;
export const SEGMENT_SECONDS = 4;
export const SEGMENT_COUNT = 6;
export const DURATION_S = SEGMENT_SECONDS * SEGMENT_COUNT; // 24
export const FRAME_COUNT = FPS * DURATION_S; // 600
export const GOP_FRAMES = FPS * SEGMENT_SECONDS; // 100
export const AUDIO_SAMPLE_RATE = 48000;
export const AUDIO_BITRATE = 128_000;

export interface VideoRenditionSpec {
  id: string;
  width: number;
  height: number;
  /** target bitrate, bits/s */
  bitrate: number;
  label: string;
}

export const VIDEO_LADDER: VideoRenditionSpec[] = [
  { id: "avc-240p", width: 426, height: 240, bitrate: 400_000, label: "240p" },
  { id: "avc-480p", width: 854, height: 480, bitrate: 1_200_000, label: "480p" },
  { id: "avc-720p", width: 1280, height: 720, bitrate: 2_500_000, label: "720p" },
];

export interface LanguageSpec {
  /** BCP 47 code used in manifests */
  code: string;
  /** ISO 639-2 code written into the MP4 mdhd */
  iso639_2: string;
  /** HLS NAME / label */
  name: string;
  audioId: string;
  subtitleId: string;
}

export const LANGUAGES: LanguageSpec[] = [
  { code: "en", iso639_2: "eng", name: "English", audioId: "aac-en", subtitleId: "sub-en" },
  { code: "es", iso639_2: "spa", name: "Spanish", audioId: "aac-es", subtitleId: "sub-es" },
];

export interface TitleSpec {
  id: string;
  name: string;
  description: string;
  releaseYear: number;
  /**
   * lavfi filtergraph fragment (no inputs) producing the 1280x720@25 base picture,
   * before the title/timecode overlay. Its output label must be `[base]`.
   */
  sourceGraph: string;
  /** base tone (Hz) of the English track; the Spanish track is a different tone/beep pattern */
  toneHz: number;
  /** subtitle lines (cue texts), per language code */
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
      `mandelbrot=s=480x270:r=${FPS}:maxiter=128:start_scale=3:end_scale=0.05,` +
      `scale=${W}:${H}:flags=bicubic,hue=H=2*PI*t/${DURATION_S}+1.2:s=1.2[base]`,
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
      `life=s=320x180:r=${FPS}:mold=10:ratio=0.3:seed=42:life_color=#00ff88:death_color=#5a1040:mold_color=#101830,` +
      `scale=${W}:${H}:flags=neighbor[city];` +
      `testsrc2=s=240x240:r=${FPS}[sat];` +
      `[city][sat]overlay=x='(W-w)/2+420*cos(2*PI*t/8)':y='(H-h)/2+200*sin(2*PI*t/8)':eval=frame[base]`,
    toneHz: 523.25,
    cues: {
      en: ["English subtitles", "A satellite circles the grid.", "The lights of the city shift.", "One more orbit.", "Signing off from orbit."],
      es: ["Subtítulos en español", "Un satélite rodea la cuadrícula.", "Las luces de la ciudad cambian.", "Una órbita más.", "Nos despedimos desde la órbita."],
    },
  },
  {
    id: "signal-test",
    name: "Signal Test",
    description: "SMPTE HD colour bars with a bouncing test pattern and a running timecode.",
    releaseYear: 2023,
    sourceGraph:
      `smptehdbars=s=${W}x${H}:r=${FPS},noise=c0s=14:allf=t+u[bars];` +
      `testsrc=s=256x144:r=${FPS}[box];` +
      `[bars][box]overlay=x='abs(mod(t*300\\,2*(W-w))-(W-w))':y='H*0.42':eval=frame[base]`,
    toneHz: 1000,
    cues: {
      en: ["English subtitles", "This is a test of the streaming system.", "Colour bars are nominal.", "Audio tone is steady.", "End of signal test."],
      es: ["Subtítulos en español", "Esta es una prueba del sistema de streaming.", "Las barras de color son correctas.", "El tono de audio es estable.", "Fin de la prueba de señal."],
    },
  },
];

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

/**
 * Single-quotes a value for a filter option. Filtergraph escaping has several levels
 * (and drawtext expands %{...} and '\\'), so we simply only allow safe characters.
 */
function filterQuote(s: string): string {
  if (!/^[A-Za-z0-9 ._\/:-]+$/.test(s)) throw new Error(`unsafe text for ffmpeg filter option: ${JSON.stringify(s)}`);
  return `'${s}'`;
}

function fontOpt(fontFile: string | null): string {
  if (!fontFile) return "";
  return `fontfile=${filterQuote(fontFile)}:`;
}

export interface EncodeOutputs {
  video: Record<string, string>; // rendition id -> mp4 path
  audio: Record<string, string>; // rendition id -> mp4 path
}

/**
 * ffmpeg arguments that generate ONE title: all 3 video renditions (split + scale from one
 * source, drawn once) and both audio languages, each into its own fragmented MP4.
 * `text`: null = no drawtext at all; otherwise font file ("" = let fontconfig choose).
 */
export function titleEncodeArgs(title: TitleSpec, outputs: EncodeOutputs, text: { fontFile: string | null } | null): string[] {
  const overlays: string[] = [];
  if (text) {
    const f = fontOpt(text.fontFile);
    overlays.push(
      `drawtext=${f}text=${filterQuote(title.name)}:fontsize=72:fontcolor=white:borderw=4:bordercolor=black:x=(w-tw)/2:y=56`,
      // running timecode + frame number (pts:hms expands to HH:MM:SS.mmm)
      `drawtext=${f}text='%{pts\\:hms}  #%{n}':fontsize=44:fontcolor=yellow:borderw=3:bordercolor=black:x=(w-tw)/2:y=h-th-56`,
    );
  }
  const n = VIDEO_LADDER.length;
  const chain = [`[base]trim=end_frame=${FRAME_COUNT},setpts=PTS-STARTPTS`, ...overlays, `format=yuv420p,split=${n}` + VIDEO_LADDER.map((_, i) => `[s${i}]`).join("")].join(",");
  const branches = VIDEO_LADDER.map((r, i) => {
    const label = text
      ? `,drawtext=${fontOpt(text.fontFile)}text=${filterQuote(r.label)}:fontsize=${Math.round(r.height / 12)}:fontcolor=white:box=1:boxcolor=black@0.5:boxborderw=6:x=w-tw-12:y=12`
      : "";
    return `[s${i}]scale=${r.width}:${r.height}:flags=bicubic,setsar=1${label}[v${i}]`;
  });
  const graph = [title.sourceGraph, chain, ...branches].join(";");

  const args = ["-hide_banner", "-nostdin", "-y", "-v", "error", "-nostats", "-progress", "pipe:1"];
  LANGUAGES.forEach((_, i) => {
    // en: steady tone with a beep every second; es: a higher tone with a double-pitch beep pattern
    const hz = i === 0 ? title.toneHz : title.toneHz * 1.5;
    const beep = i === 0 ? 2 : 4;
    args.push("-f", "lavfi", "-i", `sine=frequency=${hz}:beep_factor=${beep}:sample_rate=${AUDIO_SAMPLE_RATE}:duration=${DURATION_S}`);
  });
  args.push("-filter_complex", graph);

  const fragFlags = "frag_keyframe+empty_moov+default_base_moof";
  VIDEO_LADDER.forEach((r, i) => {
    const kbit = Math.round(r.bitrate / 1000);
    args.push(
      "-map", `[v${i}]`,
      "-an", "-sn",
      "-c:v", "libx264",
      "-preset", "veryfast",
      "-profile:v", "high",
      "-pix_fmt", "yuv420p",
      "-r", String(FPS),
      "-b:v", `${kbit}k`,
      "-maxrate", `${Math.round(kbit * 1.2)}k`,
      "-bufsize", `${kbit * 2}k`,
      "-g", String(GOP_FRAMES),
      "-keyint_min", String(GOP_FRAMES),
      "-sc_threshold", "0",
      "-x264-params", `keyint=${GOP_FRAMES}:min-keyint=${GOP_FRAMES}:scenecut=0:open-gop=0`,
      "-frames:v", String(FRAME_COUNT),
      "-movflags", fragFlags,
      "-f", "mp4",
      outputs.video[r.id],
    );
  });
  LANGUAGES.forEach((lang, i) => {
    args.push(
      "-map", `${i}:a`,
      "-vn", "-sn",
      "-c:a", "aac",
      "-b:a", `${AUDIO_BITRATE / 1000}k`,
      "-ar", String(AUDIO_SAMPLE_RATE),
      "-ac", "2",
      "-metadata:s:a:0", `language=${lang.iso639_2}`,
      "-movflags", fragFlags,
      "-f", "mp4",
      outputs.audio[lang.audioId],
    );
  });
  return args;
}

/** Tiny drawtext smoke test graph (used to detect whether drawtext/fonts work in this ffmpeg). */
export function drawtextProbeArgs(fontFile: string | null): string[] {
  return [
    "-hide_banner", "-nostdin", "-v", "error",
    "-f", "lavfi", "-i", `testsrc2=s=160x90:r=${FPS}:d=0.2`,
    "-vf", `drawtext=${fontOpt(fontFile)}text='Probe %{pts\\:hms}':fontsize=20:fontcolor=white`,
    "-f", "null", "-",
  ];
}
