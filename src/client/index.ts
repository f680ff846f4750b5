// `parley/client`: a small typed client for Parley's wire contract. REST calls (ParleyRest) and a socket with
// typed events (ParleyRealtime) that catches up with `sync` at every connect (new messages, edits and deletions)
// and honours `server:draining`.
//
//   const parley = new ParleyClient({ url: 'http://127.0.0.1:3000' });
//   await parley.rest.login({ username, password });
//   const live = await parley.realtime().connect();
//   live.onMessage((message) => console.log(message.body));
import { ParleyRealtime, type RealtimeOptions } from './socket.js';
import { ParleyRest, type RestOptions } from './rest.js';

export { ParleyApiError, ParleyRest, type RestOptions } from './rest.js';
export { ParleyRealtime, type ParleySocket, type RealtimeOptions } from './socket.js';
export type * from './events.js';

export class ParleyClient {
  readonly rest: ParleyRest;

  constructor(readonly options: RestOptions) {
    this.rest = new ParleyRest(options);
  }

  /** A socket signed in with the REST side's current access token (read again at each reconnect). */
  realtime(options: Omit<RealtimeOptions, 'url' | 'token'> = {}): ParleyRealtime {
    return new ParleyRealtime({ url: this.rest.url, token: () => this.rest.accessToken, ...options });
  }
}
