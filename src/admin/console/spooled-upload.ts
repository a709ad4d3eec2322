import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Busboy } from '@fastify/busboy';

/** The console's upload form, read as it streams: its fields, and its file on disk. */
export interface SpooledUpload {
  fields: Record<string, string>;
  /** The file, written to a temporary file as it arrived; absent when none was sent. */
  file?: { path: string; name: string; bytes: number };
  /** The file passed the size limit; what was written stops there. */
  tooLarge: boolean;
  /** Deletes the temporary file (once the import has read it). */
  discard(): Promise<void>;
}

/** A form whose fields before its file were refused (a stale or forged CSRF token). */
export class UploadRefused extends Error {}

/**
 * Reads a `multipart/form-data` upload with one file field named `file` without holding
 * it in memory: the fields that come before the file are handed to `beforeFile` (which
 * throws {@link UploadRefused} to refuse the form before a byte of the file is kept), and
 * the file is written to a temporary file, at most `maxFileBytes`. The whole request is
 * read before this returns, so the answer never cuts an upload off.
 */
export async function spoolUpload(
  request: Request,
  opts: { maxFileBytes: number; beforeFile: (fields: Record<string, string>) => void },
): Promise<SpooledUpload> {
  const dir = await mkdtemp(join(tmpdir(), 'cb-upload-'));
  const discard = () => rm(dir, { recursive: true, force: true });
  const upload: SpooledUpload = { fields: {}, tooLarge: false, discard };
  try {
    const parser = new Busboy({
      headers: { 'content-type': request.headers.get('content-type') ?? '' },
      limits: { files: 1, fields: 20, fieldSize: 4096, fileSize: opts.maxFileBytes },
    });
    let refused: unknown;
    let spooled: Promise<void> | undefined;
    parser.on('field', (name, value) => {
      upload.fields[name] = value;
    });
    parser.on('file', (name, stream, filename) => {
      if (name !== 'file' || spooled !== undefined || refused !== undefined) {
        stream.resume();
        return;
      }
      try {
        opts.beforeFile(upload.fields);
      } catch (err) {
        refused = err;
        stream.resume();
        return;
      }
      const path = join(dir, 'upload.csv');
      stream.on('limit', () => {
        upload.tooLarge = true;
      });
      spooled = pipeline(stream, createWriteStream(path)).then(() => {
        upload.file = { path, name: filename, bytes: stream.bytesRead };
      });
    });
    if (!request.body) throw new UploadRefused('the form is empty');
    await pipeline(
      Readable.fromWeb(request.body as import('node:stream/web').ReadableStream<Uint8Array>),
      parser,
    );
    await spooled;
    if (refused !== undefined) throw refused;
    return upload;
  } catch (err) {
    await discard();
    throw err;
  }
}
