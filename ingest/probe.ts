/** Container and stream probing with ffprobe (no decoding). */
import { ffprobePath } from "./ffmpeg-path";
import { meaningfulStderr, parseRational, run } from "./exec";

export interface Rational {
  num: number;
  den: number;
}

export interface ProbedStream {
  index: number;
  codecType: "video" | "audio" | "subtitle" | "data" | "attachment";
  codecName: string;
  /** stream-level duration in seconds, when the container says */
  durationS: number | null;
  startS: number | null;
  /** frames / packets the container declares (nb_frames), when it says */
  declaredFrames: number | null;
  language: string | null;
  // video
  /** width and height of the picture as ffmpeg decodes it: upright, after any display rotation */
  width?: number;
  height?: number;
  /** display width after applying the sample aspect ratio */
  displayWidth?: number;
  pixFmt?: string;
  frameRate?: Rational | null;
  avgFrameRate?: Rational | null;
  fieldOrder?: string;
  /** transfer characteristics (e.g. bt709, smpte2084 = PQ, arib-std-b67 = HLG), when tagged */
  colorTransfer?: string;
  // audio
  sampleRate?: number;
  channels?: number;
}

export interface SourceProbe {
  path: string;
  formatName: string;
  durationS: number | null;
  startS: number;
  sizeBytes: number | null;
  bitRate: number | null;
  streams: ProbedStream[];
  video: ProbedStream | null;
  audio: ProbedStream[];
}

interface RawStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  sample_aspect_ratio?: string;
  pix_fmt?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  field_order?: string;
  color_transfer?: string;
  duration?: string;
  start_time?: string;
  nb_frames?: string;
  sample_rate?: string;
  channels?: number;
  disposition?: { attached_pic?: number };
  tags?: Record<string, string>;
  side_data_list?: Array<{ side_data_type?: string; rotation?: number }>;
}

/** The display rotation of a video stream (degrees, 0-359): a newer ffprobe reports the display matrix, an older one a `rotate` tag. */
function rotationOf(s: RawStream): number {
  const matrix = s.side_data_list?.find((d) => d.side_data_type === "Display Matrix" && typeof d.rotation === "number");
  const deg = matrix?.rotation ?? num(s.tags?.rotate) ?? 0;
  return ((Math.round(deg) % 360) + 360) % 360;
}

const num = (s: string | number | undefined): number | null => {
  if (s === undefined || s === "N/A") return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
};

export class ProbeError extends Error {}

/** ffprobe -show_format -show_streams. Throws ProbeError with ffprobe's message when the file cannot be read. */
export async function probeSource(path: string): Promise<SourceProbe> {
  const res = await run(ffprobePath, ["-v", "error", "-show_format", "-show_streams", "-of", "json", path], { timeoutMs: 120_000 });
  const err = meaningfulStderr(res.stderr);
  // A crash says nothing about the file (the bundled ffprobe segfaults on every MPEG-TS): name the crash, not "exit null".
  if (res.code === null) {
    const crashed = ["SIGSEGV", "SIGBUS", "SIGABRT", "SIGILL", "SIGFPE"].includes(res.signal ?? "");
    throw new ProbeError(
      crashed
        ? `ffprobe (${ffprobePath}) crashed (${res.signal}) reading it: the file may be fine; try another ffprobe build (FFPROBE_PATH)`
        : `ffprobe (${ffprobePath}) was stopped (${res.signal}) before it read the file`,
    );
  }
  if (res.code !== 0)
    throw new ProbeError(
      err
        .split("\n")
        .pop()
        ?.replace(/^.*?:\s*/, "") || `ffprobe exit ${res.code}`,
    );
  const json = JSON.parse(res.stdout) as { streams?: RawStream[]; format?: Record<string, string | number> };
  const streams: ProbedStream[] = (json.streams ?? []).map((s) => {
    const type = (s.codec_type ?? "data") as ProbedStream["codecType"];
    const sar = parseRational(s.sample_aspect_ratio);
    const lang = s.tags?.language;
    const out: ProbedStream = {
      index: s.index,
      codecType: type === "video" && s.disposition?.attached_pic ? "attachment" : type,
      codecName: s.codec_name ?? "unknown",
      durationS: num(s.duration),
      startS: num(s.start_time),
      declaredFrames: num(s.nb_frames),
      language: lang && lang !== "und" ? lang : null,
    };
    if (type === "video") {
      // ffmpeg turns a rotated picture upright as it decodes (every decode here does), so a quarter
      // turn swaps the sizes the ladder is made from: else a phone's portrait video is squashed into landscape
      const rotation = rotationOf(s);
      const quarter = rotation % 180 === 90;
      const width = quarter ? s.height : s.width;
      out.width = width;
      out.height = quarter ? s.width : s.height;
      // the sample aspect ratio stretches the coded width, which a quarter turn makes the height
      out.displayWidth = width && sar ? Math.round(quarter ? (width * sar.den) / sar.num : (width * sar.num) / sar.den) : width;
      out.pixFmt = s.pix_fmt;
      out.frameRate = parseRational(s.r_frame_rate);
      out.avgFrameRate = parseRational(s.avg_frame_rate);
      out.fieldOrder = s.field_order;
      out.colorTransfer = s.color_transfer;
    } else if (type === "audio") {
      out.sampleRate = num(s.sample_rate) ?? undefined;
      out.channels = s.channels;
    }
    return out;
  });
  const f = json.format ?? {};
  return {
    path,
    formatName: String(f.format_name ?? "unknown"),
    durationS: num(f.duration as string),
    startS: num(f.start_time as string) ?? 0,
    sizeBytes: num(f.size as string),
    bitRate: num(f.bit_rate as string),
    streams,
    video: streams.find((s) => s.codecType === "video") ?? null,
    audio: streams.filter((s) => s.codecType === "audio"),
  };
}

/** Field orders ffprobe reports for interlaced video: tt/bb coded and shown top/bottom first, tb/bt coded one way and shown the other. */
export type InterlacedFieldOrder = "tt" | "bb" | "tb" | "bt";

/** The probed field order when it says the video is interlaced, else null (progressive, unknown or untold). */
export function interlacedFieldOrder(fieldOrder: string | undefined): InterlacedFieldOrder | null {
  return fieldOrder === "tt" || fieldOrder === "bb" || fieldOrder === "tb" || fieldOrder === "bt" ? fieldOrder : null;
}

/** Whether the top field is shown first (the second letter of the field order says which is shown first). */
export function topFieldFirst(fieldOrder: InterlacedFieldOrder): boolean {
  return fieldOrder === "tt" || fieldOrder === "bt";
}

/**
 * The filter that makes an interlaced source's decoded frames progressive, or null for a progressive one.
 * Every decode that makes or judges pictures (the encode, the ladder's probe, the self-check's reference)
 * puts it first, so all of them see the same pictures. bwdif in send_frame mode gives one frame per frame:
 * frame counts, chunks and timing stay the source's. The parity is the probed one and every frame is
 * deinterlaced, because for a frame that does not carry the interlaced flag itself (flags lost in an earlier
 * encode, a field order only the container tells) `parity=auto` assumes top field first, which makes a
 * bottom-field-first source (DV PAL) judder, and `deint=interlaced` leaves it combed. For frames that carry
 * the flags the pictures are the same.
 */
export function deinterlaceFilter(fieldOrder: InterlacedFieldOrder | null | undefined): string | null {
  if (!fieldOrder) return null;
  return `bwdif=mode=send_frame:parity=${topFieldFirst(fieldOrder) ? "tff" : "bff"}:deint=all`;
}

export interface PacketScan {
  /** presentation times (s, relative to the container start) of the video packets, in presentation order */
  pts: number[];
  /** indices into `pts` of keyframes */
  keyframes: number[];
}

/**
 * Lists the video packets (demux only, no decoding): their presentation times in order and
 * which are keyframes. Chunk boundaries are chosen among these keyframes.
 */
export async function scanVideoPackets(path: string, streamIndex: number, containerStartS: number): Promise<PacketScan> {
  const packets: Array<{ t: number; key: boolean }> = [];
  // Line by line: run() keeps only the tail of a long stdout (a long title lists millions of characters).
  const res = await run(
    ffprobePath,
    ["-v", "error", "-select_streams", String(streamIndex), "-show_entries", "packet=pts_time,dts_time,flags", "-of", "csv=p=0", path],
    {
      timeoutMs: 600_000,
      onStdoutLine: (line) => {
        if (!line) return;
        const [ptsS, dtsS, flags] = line.split(",");
        const t = num(ptsS) ?? num(dtsS);
        if (t === null) return;
        packets.push({ t: t - containerStartS, key: (flags ?? "").includes("K") });
      },
    },
  );
  if (res.code !== 0) throw new ProbeError(meaningfulStderr(res.stderr) || `ffprobe exit ${res.code}`);
  packets.sort((a, b) => a.t - b.t);
  return { pts: packets.map((p) => p.t), keyframes: packets.flatMap((p, i) => (p.key ? [i] : [])) };
}
