// A socket stand-in for whole requests run in-process (bench/inproc.mjs, bench/users-app.mjs): every write succeeds
// at once, and strings are not turned into Buffers on the way, so the framework and the capture see the calls they
// make on a real socket without the kernel.
import { Writable } from 'node:stream';

export class Sink extends Writable {
  constructor() {
    super({ decodeStrings: false });
  }
  _write(_chunk, _encoding, callback) {
    callback();
  }
  _writev(_chunks, callback) {
    callback();
  }
  setTimeout() {}
  setNoDelay() {}
  setKeepAlive() {}
  ref() {}
  unref() {}
}
