// The session's CSRF token, sent as X-CSRF-Token on every state-changing fetch.
"use strict";
window.lorabotFetch = function (url, options) {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const headers = Object.assign({}, (options && options.headers) || {});
  if (meta) headers["X-CSRF-Token"] = meta.content;
  return fetch(url, Object.assign({}, options, { headers: headers, credentials: "same-origin" }));
};
