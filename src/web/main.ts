// Entry: a signed-in browser (session cookie) goes straight to the chat, anyone else to the sign-in screen.
import './styles.css';
import { api, ApiError } from './api.js';
import { chatScreen } from './app.js';
import { ChatStore } from './store.js';
import type { User } from '../contract/users.js';
import { authScreen } from './views/auth.js';

const root = document.getElementById('app')!;
const store = new ChatStore();

function showAuth(notice?: string): void {
  root.replaceChildren(authScreen(showChat, notice));
  document.getElementById('auth-username')?.focus();
}

function showChat(user: User): void {
  store.me = user;
  root.replaceChildren(chatScreen(store, showAuth).element);
}

api.me().then(
  ({ user }) => showChat(user),
  (error: unknown) => showAuth(error instanceof ApiError && error.status !== 401 ? error.message : undefined),
);
