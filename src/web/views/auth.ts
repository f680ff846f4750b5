// Sign in or create an account; both start a cookie session (the socket authenticates with the same cookie).
import { api, ApiError } from '../api.js';
import { h } from '../dom.js';
import type { User } from '../../contract/users.js';

export function authScreen(onSignedIn: (user: User) => void, notice?: string): HTMLElement {
  const error = h('p', { class: 'error', role: 'alert' }, notice ?? '');
  const username = h('input', {
    id: 'auth-username',
    name: 'username',
    autocomplete: 'username',
    required: true,
    minlength: 3,
    maxlength: 32,
  });
  const password = h('input', {
    id: 'auth-password',
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
    minlength: 8,
  });
  const displayName = h('input', { id: 'auth-display', name: 'displayName', autocomplete: 'nickname', maxlength: 64 });
  const busy = (on: boolean) => form.querySelectorAll('button').forEach((button) => (button.disabled = on));

  const submit = async (mode: 'login' | 'register') => {
    error.textContent = '';
    if (!username.value || !password.value) {
      error.textContent = 'Enter a username and a password.';
      return;
    }
    busy(true);
    try {
      const name = username.value.trim().toLowerCase();
      const { user } =
        mode === 'login'
          ? await api.login(name, password.value)
          : await api.register(name, password.value, displayName.value.trim() || undefined);
      onSignedIn(user);
    } catch (failure) {
      error.textContent = failure instanceof ApiError ? failure.message : 'Something went wrong. Try again.';
      busy(false);
    }
  };

  const form = h(
    'form',
    {
      class: 'auth',
      'aria-labelledby': 'auth-title',
      novalidate: true,
      onsubmit: (event: Event) => (event.preventDefault(), void submit('login')),
    },
    h('h1', { id: 'auth-title' }, 'Parley'),
    h('p', { class: 'muted' }, 'Sign in, or create an account to start chatting.'),
    h('label', { for: 'auth-username' }, 'Username'),
    username,
    h('p', { class: 'hint', id: 'auth-username-hint' }, '3–32 characters: a–z, 0–9, _ . -'),
    h('label', { for: 'auth-password' }, 'Password'),
    password,
    h('p', { class: 'hint' }, 'At least 8 characters.'),
    h('label', { for: 'auth-display' }, 'Display name (new accounts, optional)'),
    displayName,
    error,
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'submit' }, 'Sign in'),
      h('button', { type: 'button', class: 'secondary', onclick: () => void submit('register') }, 'Create account'),
    ),
  );
  username.setAttribute('aria-describedby', 'auth-username-hint');
  return h('main', { class: 'auth-page' }, form);
}
