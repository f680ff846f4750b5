// An example bot on `parley/client`: signs in (registering on first run), follows the conversations it is in or
// gets added to, and answers every message from someone else with "echo: <body>". Reconnects and catches up by
// itself (sync), so a server reload does not make it miss or repeat an answer: the answer's clientMsgId is
// derived from the message it answers, and the server stores a clientMsgId once.
//
//   PARLEY_URL=http://127.0.0.1:3000 BOT_USERNAME=echo BOT_PASSWORD='a long password' npx tsx test/examples/echo-bot.ts
import { ParleyApiError, ParleyClient, type Message } from 'parley/client';

const url = process.env.PARLEY_URL ?? 'http://127.0.0.1:3000';
const username = process.env.BOT_USERNAME ?? 'echo_bot';
const password = process.env.BOT_PASSWORD ?? 'echo bot password';

const parley = new ParleyClient({ url });
const me = await parley.rest.login({ username, password }).catch(async (error: unknown) => {
  if (error instanceof ParleyApiError && error.status === 401)
    return parley.rest.register({ username, password, displayName: 'Echo bot' });
  throw error;
});

const live = parley.realtime();
// Start from the latest message of each conversation: answer what arrives from now on, not the history.
for (const conversation of await parley.rest.conversations()) live.follow(conversation.id, conversation.lastSeq);
live.socket.on('conversation:new', ({ conversation }) => live.follow(conversation.id, conversation.lastSeq));

live.onMessage((message: Message) => {
  if (message.senderId === me.id) return;
  live.send(message.conversationId, `echo: ${message.body}`, `echo-${message.id}`).catch((error: unknown) => {
    console.error(JSON.stringify({ msg: 'echo failed', messageId: message.id, error: String(error) }));
  });
});

await live.connect();
console.log(JSON.stringify({ msg: 'echo bot ready', userId: me.id, url }));

const stop = () => {
  live.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
