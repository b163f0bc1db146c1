// Whole requests run in-process (bench/inproc.mjs, bench/users-app.mjs): Node's own IncomingMessage and
// ServerResponse over a socket stand-in that accepts every write at once (strings are not turned into Buffers on the
// way), so the framework and the capture see the calls they make on a real socket, without the kernel.
import { IncomingMessage, ServerResponse } from 'node:http';
import { Writable } from 'node:stream';

class Sink extends Writable {
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

/**
 * One GET of `url` through `handler` (an app's request listener), its headers handed over as Node's parser does
 * (`rawHeaders`: `req.headers` is built on first read); resolves with the status once the response finished.
 */
export function inProcessGet(handler, url, rawHeaders) {
  const socket = new Sink();
  socket.remoteAddress = '127.0.0.1';
  const req = new IncomingMessage(socket);
  req.method = 'GET';
  req.url = url;
  req._addHeaderLines(rawHeaders.slice(), rawHeaders.length);
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  req.httpVersion = '1.1';
  req.push(null);
  const res = new ServerResponse(req);
  res.shouldKeepAlive = true;
  res.assignSocket(socket);
  return new Promise((resolve) => {
    res.once('finish', () => {
      res.detachSocket(socket);
      resolve(res.statusCode);
    });
    handler(req, res);
  });
}
