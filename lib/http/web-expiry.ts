import { expireWrite } from './expiry-failure.js';
import { discardResponse } from './web-response.js';
import { requestIdOf, type WriteExpiry } from './write-expiry.js';

/**
 * Runs the expiry a write asked for (`requested`: a group name or a list) before its `Response` goes out, so that
 * the client's next read never sees pre-write data. Resolves with the response to send: the write's own, or under
 * `onError: 'fail'`, when the expiry could not be recorded, the 503 that replaces it (the write's body-describing
 * headers dropped, the others kept). Rejects only if building the 503 threw. `request` and `route` (the matched
 * pattern, else the path) name the write as the expiry's trigger.
 */
export async function expireBeforeResponse(
  settings: WriteExpiry,
  requested: unknown,
  response: Response,
  request: Request,
  route: string,
): Promise<Response> {
  if (requested === undefined || requested === null) return response;
  let answer = response;
  let headers: Headers | undefined;
  const own = (): Headers => {
    headers ??= new Headers(response.headers);
    return headers;
  };
  await expireWrite(settings, requested, response.status, {
    request: () => ({
      method: request.method,
      route,
      requestId: requestIdOf(
        { 'x-request-id': request.headers.get('x-request-id') ?? undefined },
        response.headers.get('x-request-id') ?? undefined,
      ),
    }),
    sent: () => false,
    proceed() {},
    headerNames: () => [...own().keys()],
    removeHeader: (name) => own().delete(name),
    answer(status, contentType, body) {
      discardResponse(response);
      const kept = own();
      kept.set('content-type', contentType);
      answer = new Response(body, { status, headers: kept });
    },
  });
  return answer;
}
