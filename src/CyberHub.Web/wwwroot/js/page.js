// What every page Core renders without the WebAssembly runtime shares (the sign-in page and the dashboard, see
// src/CyberHub.Core/Web/PageFrame.cs): toasts as the app's Toasts and ToastHost show them, and the top bar's menu
// with the app's Escape rule. Loaded before the page's own script, which uses `window.CyberHubPage`.
(() => {
  'use strict';
  const lifetimes = { error: 12000, success: 5000 };
  const mostShown = 4;

  // A toast as the app draws it. A message already on screen is not stacked again: it shows once, as the newest,
  // with the latest request id and a fresh lifetime; at most four are shown.
  function toast(message, kind, requestId) {
    const host = document.querySelector('.toasts');
    host.querySelectorAll(`.toast-${kind}`).forEach(shown => {
      if (shown.querySelector('.toast-message').textContent === message) shown.remove();
    });
    const box = document.createElement('div');
    box.className = `toast toast-${kind}`;
    box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    box.dataset.testid = 'toast';
    const text = document.createElement('span');
    text.className = 'toast-message';
    text.textContent = message;
    box.append(text);
    if (requestId) {
      const request = document.createElement('small');
      request.className = 'toast-request';
      request.textContent = `Request ${requestId}`;
      box.append(request);
    }
    const close = document.createElement('button');
    close.type = 'button';
    close.className = 'toast-close';
    close.setAttribute('aria-label', 'Dismiss');
    close.textContent = '×';
    close.addEventListener('click', () => box.remove());
    box.append(close);
    host.append(box);
    while (host.children.length > mostShown) host.firstElementChild.remove();
    setTimeout(() => box.remove(), lifetimes[kind] ?? lifetimes.error);
  }

  // The menu button opens and closes the links on a narrow screen; choosing a link closes them. Escape closes every
  // toast and an open menu, and gives the focus back to the button, as in the app's layout.
  function menu() {
    const toggle = document.querySelector('.nav-toggle');
    const links = document.getElementById('nav-links');
    const close = () => {
      links.classList.remove('open');
      toggle.setAttribute('aria-expanded', 'false');
    };
    toggle.addEventListener('click', () => {
      const open = links.classList.toggle('open');
      toggle.setAttribute('aria-expanded', open ? 'true' : 'false');
    });
    links.addEventListener('click', event => {
      if (event.target.closest('a, button')) close();
    });
    document.addEventListener('keydown', event => {
      if (event.key !== 'Escape' || event.defaultPrevented) return;
      document.querySelectorAll('.toasts .toast').forEach(t => t.remove());
      if (links.classList.contains('open')) {
        close();
        toggle.focus();
      }
    });
  }

  // Runs `start` once the page's markup is there (the scripts are deferred, so it usually already is).
  function ready(start) {
    if (document.readyState === 'loading') {
      document.addEventListener('DOMContentLoaded', start);
    } else {
      start();
    }
  }

  window.CyberHubPage = Object.freeze({ toast, menu, ready });
})();
