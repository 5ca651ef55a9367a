// <authai-signin>: "Sign in with ChatGPT" (and other providers) for any page, no dependencies.
//
//   <script type="module" src="/authai/sdk.js"></script>
//   <authai-signin provider="openai"></authai-signin>   (one provider)
//   <authai-signin></authai-signin>                      (every provider the mount offers)
//
// Speaks the authai_embed mount's wire (the reference relay's: /auth/start, /auth/poll/{id},
// /auth/whoami, /auth/revoke; /auth/providers when no provider is given; /auth/limits with
// show-limits). Every server
// value is rendered with textContent, never as HTML. A verification link is made clickable only
// when it is https on the provider's own host, or on an origin the page allows explicitly
// (allow-verification-origin). Reference: docs/browser-component.md.

const TOKEN_KEY = "authai:jwt";
const COOKIE_MARKER_KEY = "authai:session";
const DEFAULT_MOUNT = "/authai";
const MIN_POLL_MS = 1000;

// Hosts a provider's device-code page may live on (https only, default port).
const VERIFICATION_HOSTS = {
  openai: ["auth.openai.com", "chatgpt.com"],
  github: ["github.com"],
  xai: ["auth.x.ai", "accounts.x.ai", "x.ai"],
};
// The stable code the mount gives when the provider refuses device-code sign-in until the user
// (or a workspace admin) turns it on; its answer carries the settings link as `help`.
const DEVICE_CODE_DISABLED = "device_code_disabled";
const PROVIDER_NAMES = { openai: "ChatGPT", github: "GitHub Copilot", xai: "Grok" };
// The aliases the server accepts, as in providers/registry.py.
const PROVIDER_ALIASES = { chatgpt: "openai", codex: "openai", grok: "xai", copilot: "github" };

// Offered when the provider list cannot be read.
const FALLBACK_CHOICES = [{ id: "openai", name: PROVIDER_NAMES.openai }];

function canonicalProvider(name) {
  const id = String(name || "openai").trim().toLowerCase();
  return PROVIDER_ALIASES[id] || id;
}

// The mount this script was served from: `{mount}/sdk.js` -> `{mount}`.
const SCRIPT_MOUNT = (() => {
  try {
    const url = new URL(import.meta.url);
    if (!url.pathname.endsWith("/sdk.js")) return null;
    const path = url.pathname.slice(0, -"/sdk.js".length);
    return url.origin === location.origin ? path : url.origin + path;
  } catch {
    return null;
  }
})();

const STYLE = `
:host {
  display: block;
  font: var(--authai-font, inherit);
  color: var(--authai-color, inherit);
}
[hidden] { display: none !important; }
.box {
  border: 1px solid var(--authai-border-color, #d0d7de);
  border-radius: var(--authai-radius, 10px);
  background: var(--authai-background, transparent);
  padding: var(--authai-padding, 1rem 1.25rem);
}
button {
  font: inherit;
  cursor: pointer;
  padding: .45rem .95rem;
  border-radius: var(--authai-button-radius, 8px);
  border: 1px solid var(--authai-border-color, #d0d7de);
  background: var(--authai-button-background, #fff);
  color: inherit;
}
button:focus-visible, a:focus-visible { outline: 2px solid var(--authai-accent, #10a37f); outline-offset: 2px; }
button.primary {
  background: var(--authai-accent, #10a37f);
  border-color: var(--authai-accent, #10a37f);
  color: var(--authai-accent-text, #fff);
  font-weight: 600;
}
button[aria-disabled="true"] { opacity: .6; cursor: progress; }
p { margin: 0 0 .6rem; }
.row { display: flex; align-items: center; gap: .75rem; flex-wrap: wrap; margin: 0 0 .6rem; }
[part~="signed-in"], [part~="loading"] { margin: 0; }
.code {
  font: 600 1.5rem/1.2 var(--authai-code-font, ui-monospace, SFMono-Regular, Menlo, monospace);
  letter-spacing: .12em;
  padding: .3rem .6rem;
  border-radius: 6px;
  background: var(--authai-code-background, #f3f4f6);
}
a { color: var(--authai-link-color, #0969da); word-break: break-all; }
.url { font-family: var(--authai-code-font, ui-monospace, monospace); word-break: break-all; }
.muted { color: var(--authai-muted-color, #57606a); font-size: .9em; }
.message { margin: .6rem 0 0; color: var(--authai-error-color, #b42318); }
.message.guidance { color: inherit; }
.help { display: inline-block; margin: .4rem 0 0; }
.message:empty { display: none; }
.who { font-weight: 600; }
.choices { display: flex; flex-wrap: wrap; gap: .5rem; }
.limits { list-style: none; padding: 0; margin: .6rem 0 0; }
`;

// The lines show-limits lists for a /auth/limits answer, e.g. "5h window: 42% used, resets
// 14:00" or "Premium requests: 298 of 300 left, resets Jan 1"; every value is rendered as text.
function limitLines(answer) {
  if (!answer) return [];
  const windows = Array.isArray(answer.windows) ? answer.windows : [];
  if (answer.source === "not_reported" || windows.length === 0) {
    return ["Plan limits: not reported by the provider"];
  }
  return windows.filter((w) => w && typeof w === "object").map(limitLine);
}

const LIMIT_NAMES = { chat: "Chat", completions: "Completions", premium_interactions: "Premium requests" };

function limitLine(w) {
  const label = windowLabel(w);
  if (w.unlimited === true) return `${label}: unlimited`;
  const resets = typeof w.resetsAt === "number" ? `, resets ${resetTime(w.resetsAt)}` : "";
  if (typeof w.remaining === "number" && typeof w.entitlement === "number") {
    return `${label}: ${fmt(w.remaining)} of ${fmt(w.entitlement)} left${resets}`;
  }
  const used = typeof w.usedPercent === "number" ? `${Math.round(w.usedPercent)}% used` : "in use";
  return `${label}: ${used}${resets}`;
}

function windowLabel(w) {
  const minutes = w.windowMinutes;
  if (typeof minutes === "number" && minutes > 0) {
    if (minutes === 7 * 24 * 60) return "Weekly window";
    if (minutes % (24 * 60) === 0) return `${minutes / (24 * 60)}d window`;
    if (minutes % 60 === 0) return `${minutes / 60}h window`;
    return `${minutes}min window`;
  }
  return LIMIT_NAMES[w.name] || String(w.name || "Limit");
}

// Within a day: the time ("14:00"); later: the date ("Jan 1").
function resetTime(seconds) {
  const when = new Date(seconds * 1000);
  if (seconds * 1000 - Date.now() < 24 * 3600 * 1000) {
    return when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }
  return when.toLocaleDateString([], { month: "short", day: "numeric" });
}

function fmt(n) {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

// The `{"providers": [{id, displayName}]}` answer as choices; ids the page cannot use are dropped.
function providerChoices(body) {
  const items = body && Array.isArray(body.providers) ? body.providers : [];
  const choices = [];
  for (const item of items) {
    const id = item && typeof item.id === "string" ? canonicalProvider(item.id) : "";
    if (!/^[a-z0-9_-]{1,40}$/.test(id) || choices.some((c) => c.id === id)) continue;
    const shown = item.displayName;
    const given = typeof shown === "string" ? shown.trim() : "";
    choices.push({ id, name: given || PROVIDER_NAMES[id] || id });
  }
  return choices;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The payload of a JWT, read without verifying (only to notice an expired token early).
function jwtClaims(jwt) {
  try {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4)));
  } catch {
    return null;
  }
}

function originOf(value) {
  try {
    const url = new URL(value);
    return url.origin === "null" ? null : url.origin;
  } catch {
    return null;
  }
}

/**
 * Whether `link` may be opened for `provider`: https on the provider's own host (default port),
 * or exactly one of `extraOrigins` (e.g. the offline emulator's http://127.0.0.1:8000).
 */
export function isAllowedVerificationUrl(link, provider, extraOrigins = []) {
  let url;
  try {
    url = new URL(link);
  } catch {
    return false;
  }
  if (url.username || url.password) return false;
  if (url.protocol === "https:" && url.port === "") {
    const hosts = VERIFICATION_HOSTS[canonicalProvider(provider)] || [];
    if (hosts.includes(url.hostname)) return true;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return false;
  return extraOrigins.includes(url.origin);
}

// Where the JWT (or, in cookie mode, a one-character marker) is kept.
class TokenStore {
  constructor(kind) {
    this.memory = new Map();
    this.backend = null;
    if (kind === "session" || kind === "local") {
      try {
        const backend = kind === "local" ? window.localStorage : window.sessionStorage;
        const probe = "authai:probe";
        backend.setItem(probe, "1");
        backend.removeItem(probe);
        this.backend = backend;
      } catch {
        this.backend = null; // storage disabled: fall back to memory
      }
    }
  }
  get(key) {
    return this.backend ? this.backend.getItem(key) : (this.memory.get(key) ?? null);
  }
  set(key, value) {
    if (this.backend) this.backend.setItem(key, value);
    else this.memory.set(key, value);
  }
  remove(key) {
    if (this.backend) this.backend.removeItem(key);
    this.memory.delete(key);
  }
}

export class AuthAISignin extends HTMLElement {
  static observedAttributes = ["provider", "storage", "session", "base", "show-limits"];

  #state = "loading";
  #attempt = null; // the running sign-in; replaced or cleared to stop its polling
  #store = null;
  #storeKind = null;
  #user = null;
  #choices = null; // provider-less: [{id, name}] from /auth/providers, once known
  #choicesLoading = null;
  #chosen = null; // provider-less: the provider of the running or last sign-in
  #limits = null; // show-limits: the last /auth/limits answer while signed in
  #limitsAsked = 0; // which ask is the latest (an older answer arriving late is dropped)
  #ui = null;
  #copyTimer = 0;
  #onStorage = (event) => this.#storageChanged(event);

  constructor() {
    super();
    const root = this.attachShadow({ mode: "open" });
    if ("adoptedStyleSheets" in root && typeof CSSStyleSheet === "function") {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(STYLE);
      root.adoptedStyleSheets = [sheet];
    } else {
      root.append(el("style", {}, STYLE));
    }
    this.#ui = this.#build(root);
  }

  connectedCallback() {
    if (this.#storeKind !== this.storage) this.#useStorage();
    window.addEventListener("storage", this.#onStorage);
    this.#render();
    if (this.#state === "loading") this.#restore();
    else if (this.#state === "pending" && this.#attempt === null) this.#setState("signed-out");
  }

  disconnectedCallback() {
    // Stop polling; a sign-in left half-way starts over if the element comes back.
    this.#attempt = null;
    window.removeEventListener("storage", this.#onStorage);
  }

  // Another tab signed in or out (storage="local"): follow it. That tab revoked, not this one.
  #storageChanged(event) {
    if (!this.#store || event.storageArea !== this.#store.backend) return;
    if (event.key !== null && event.key !== TOKEN_KEY && event.key !== COOKIE_MARKER_KEY) return;
    const present = this.#store.get(TOKEN_KEY) ?? this.#store.get(COOKIE_MARKER_KEY);
    if (present === null && this.#state === "signed-in") {
      this.#user = null;
      this.#clearLimits();
      this.#setState("signed-out");
      this.#emit("authai:signed-out", {});
    } else if (present !== null && this.#state === "signed-out") {
      this.#setState("loading");
      this.#restore();
    }
  }

  attributeChangedCallback(name, oldValue, newValue) {
    if (oldValue === newValue || !this.isConnected) return;
    if (name === "storage") this.#useStorage();
    if (name === "show-limits") this.#showLimits();
    if (name === "provider" && this.#offersAll()) this.#loadChoices().then(() => this.#render());
    this.#render();
  }

  // No `provider` attribute: offer every provider the mount lists.
  #offersAll() {
    return !this.hasAttribute("provider");
  }

  // Ask the mount once which providers it offers; on any failure offer ChatGPT.
  #loadChoices() {
    if (this.#choicesLoading === null) {
      this.#choicesLoading = (async () => {
        try {
          const res = await fetch(`${this.base}/auth/providers`, {
            credentials: "same-origin",
            cache: "no-store",
          });
          const choices = res.ok ? providerChoices(await res.json()) : [];
          this.#choices = choices.length ? choices : FALLBACK_CHOICES;
        } catch {
          this.#choices = FALLBACK_CHOICES;
        }
      })();
    }
    return this.#choicesLoading;
  }

  #nameOf(id) {
    const choice = (this.#choices || []).find((c) => c.id === id);
    return choice ? choice.name : PROVIDER_NAMES[id] || id;
  }

  #useStorage() {
    this.#storeKind = this.storage;
    this.#store = new TokenStore(this.#storeKind);
  }

  // -- public API ------------------------------------------------------------------------

  /**
   * The provider id (`openai`, `github`, `xai`): the attribute; without it, the provider of the
   * signed-in user or of the last sign-in started, else `openai`.
   */
  get provider() {
    if (!this.#offersAll()) return canonicalProvider(this.getAttribute("provider"));
    return canonicalProvider((this.#user && this.#user.provider) || this.#chosen);
  }

  /** Without a `provider` attribute, the offered providers `[{id, name}]` (null until known). */
  get providers() {
    return this.#choices ? this.#choices.map((c) => ({ ...c })) : null;
  }

  /** The mount's URL: the `base` attribute, else where sdk.js came from, else `/authai`. */
  get base() {
    const base = this.getAttribute("base") || SCRIPT_MOUNT || DEFAULT_MOUNT;
    return base.replace(/\/+$/, "");
  }

  /** `memory`, `session` (default) or `local`. */
  get storage() {
    const kind = (this.getAttribute("storage") || "session").toLowerCase();
    return ["memory", "session", "local"].includes(kind) ? kind : "session";
  }

  /** `jwt` (default: the token is kept in `storage`) or `cookie` (an HttpOnly cookie). */
  get session() {
    return (this.getAttribute("session") || "jwt").toLowerCase() === "cookie" ? "cookie" : "jwt";
  }

  /** `loading`, `signed-out`, `pending` or `signed-in`. */
  get state() {
    return this.#state;
  }

  /** The signed-in user `{id, provider}` from /auth/whoami, or null. */
  get user() {
    return this.#user ? { ...this.#user } : null;
  }

  /** show-limits: the user's plan limits from /auth/limits (its JSON answer), or null. */
  get limits() {
    return this.#limits;
  }

  /** Ask /auth/limits again and show the answer (show-limits); resolves to it, or null. */
  refreshLimits() {
    return this.#showLimits();
  }

  /** The session JWT to send as `Authorization: Bearer`, or null (signed out, or cookie mode). */
  getToken() {
    if (this.session === "cookie" || !this.#store) return null;
    const jwt = this.#store.get(TOKEN_KEY);
    if (!jwt) return null;
    const claims = jwtClaims(jwt);
    if (claims && typeof claims.exp === "number" && claims.exp * 1000 <= Date.now()) {
      this.#store.remove(TOKEN_KEY);
      return null;
    }
    return jwt;
  }

  /** Start a sign-in (what a button does); `provider` picks one when the attribute is absent. */
  signIn(provider) {
    return this.#start(provider);
  }

  /** Forget the session here and revoke it on the server (fire-and-forget). */
  signOut() {
    const jwt = this.session === "cookie" ? null : this.#store.get(TOKEN_KEY);
    const wasCookie = this.#store.get(COOKIE_MARKER_KEY) !== null || this.session === "cookie";
    this.#store.remove(TOKEN_KEY);
    this.#store.remove(COOKIE_MARKER_KEY);
    this.#attempt = null;
    this.#user = null;
    this.#clearLimits();
    if (jwt || wasCookie) {
      const headers = jwt ? { Authorization: `Bearer ${jwt}` } : {};
      fetch(`${this.base}/auth/revoke`, {
        method: "POST",
        headers,
        credentials: "same-origin",
        keepalive: true,
      }).catch(() => {});
    }
    this.#setState("signed-out");
    this.#say("");
    this.#emit("authai:signed-out", {});
  }

  // -- flow ------------------------------------------------------------------------------

  async #restore() {
    // Provider-less: ask for the providers while the session is checked, and show the
    // signed-out view only once its buttons are known.
    const choices = this.#offersAll() ? this.#loadChoices() : Promise.resolve();
    await this.#restoreSession(choices);
  }

  async #restoreSession(choices) {
    // Cookie mode: by attribute, or because the server chose it at the last sign-in (marker).
    const marker = this.#store.get(COOKIE_MARKER_KEY);
    const cookie = this.session === "cookie" || marker !== null;
    const jwt = cookie ? null : this.getToken();
    // With memory storage a reload forgets the marker, so cookie mode always asks.
    const known = cookie ? marker !== null || this.storage === "memory" : jwt !== null;
    const who = known ? await this.#whoami(jwt) : null;
    await choices;
    if (!known) return this.#setState("signed-out");
    if (who === null) {
      this.#store.remove(TOKEN_KEY);
      this.#store.remove(COOKIE_MARKER_KEY);
      return this.#setState("signed-out");
    }
    if (who === undefined) {
      this.#setState("signed-out");
      return this.#fail("network", "Could not check your session. Check your connection.");
    }
    this.#signedIn(jwt, who);
  }

  // The whoami answer; null when the session is not valid; undefined when it could not be asked.
  async #whoami(jwt) {
    try {
      const res = await fetch(`${this.base}/auth/whoami`, {
        headers: jwt ? { Authorization: `Bearer ${jwt}` } : {},
        credentials: "same-origin",
        cache: "no-store",
      });
      if (res.status === 401) return null;
      if (!res.ok) return undefined;
      return await res.json();
    } catch {
      return undefined;
    }
  }

  async #start(choice) {
    const buttons = this.#signInButtons();
    const starting = buttons.some((b) => b.getAttribute("aria-disabled") === "true");
    if (this.#state === "pending" || starting) return;
    const first = this.#choices && this.#choices[0] ? this.#choices[0].id : null;
    const provider = this.#offersAll() ? canonicalProvider(choice || first) : this.provider;
    const attempt = { provider };
    this.#attempt = attempt;
    if (this.#offersAll()) this.#chosen = provider;
    this.#say("");
    // aria-disabled, not disabled: a disabled button would drop the keyboard focus.
    for (const button of buttons) button.setAttribute("aria-disabled", "true");
    let started;
    try {
      const res = await fetch(`${this.base}/auth/start`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        credentials: "same-origin",
        body: JSON.stringify({ provider }),
      });
      const body = await res.json().catch(() => ({}));
      if (!res.ok || typeof body.sessionId !== "string") {
        const error = new Error(typeof body.error === "string" ? body.error : `HTTP ${res.status}`);
        error.answer = body;
        throw error;
      }
      started = body;
    } catch (error) {
      if (this.#attempt !== attempt) return;
      this.#attempt = null;
      if (error.answer && error.answer.code === DEVICE_CODE_DISABLED) {
        return this.#guide(error.answer, provider);
      }
      return this.#fail("start_failed", `Could not start the sign-in: ${error.message}`);
    } finally {
      for (const button of buttons) button.removeAttribute("aria-disabled");
    }
    if (this.#attempt !== attempt) return;
    this.#showCode(started, provider);
    this.#setState("pending");
    await this.#poll(started, attempt);
  }

  async #poll(started, attempt) {
    const interval = Math.max(MIN_POLL_MS, Number(started.pollIntervalMs) || 0);
    const deadline = Date.now() + (Number(started.expiresInMs) || 0);
    const url = `${this.base}/auth/poll/${encodeURIComponent(started.sessionId)}`;
    while (Date.now() < deadline) {
      await sleep(interval);
      if (this.#attempt !== attempt) return;
      let answer;
      try {
        const res = await fetch(url, { credentials: "same-origin", cache: "no-store" });
        answer = await res.json();
        if (res.status >= 500) continue; // a server hiccup: ask again next interval
      } catch {
        continue; // offline for a moment: ask again next interval
      }
      if (this.#attempt !== attempt) return;
      if (answer.status === "pending") continue;
      this.#attempt = null;
      if (answer.status === "complete") return this.#completed(answer);
      this.#setState("signed-out");
      if (answer.status === "expired") {
        return this.#fail("expired", "The code expired before it was approved. Try again.");
      }
      if (answer.code === DEVICE_CODE_DISABLED) return this.#guide(answer, attempt.provider);
      const reason = typeof answer.error === "string" ? answer.error : "unknown error";
      if (/denied/i.test(reason)) return this.#fail("denied", "The sign-in was denied.");
      return this.#fail("sign_in_failed", `The sign-in failed: ${reason}`);
    }
    if (this.#attempt !== attempt) return;
    this.#attempt = null;
    this.#setState("signed-out");
    this.#fail("expired", "The code expired before it was approved. Try again.");
  }

  async #completed(answer) {
    const cookie = answer.session === "cookie" || this.session === "cookie";
    const jwt = cookie ? null : answer.jwt;
    if (!cookie && typeof jwt !== "string") {
      this.#setState("signed-out");
      return this.#fail("sign_in_failed", "The server answered without a session.");
    }
    if (cookie) this.#store.set(COOKIE_MARKER_KEY, "1");
    else this.#store.set(TOKEN_KEY, jwt);
    const who = await this.#whoami(jwt);
    if (!who) {
      this.#store.remove(TOKEN_KEY);
      this.#store.remove(COOKIE_MARKER_KEY);
      this.#setState("signed-out");
      return this.#fail("sign_in_failed", "The new session could not be checked. Try again.");
    }
    this.#signedIn(jwt, who);
  }

  #signedIn(jwt, who) {
    this.#user = who && who.user ? { id: who.user.id, provider: who.user.provider } : null;
    const provider = (this.#user && this.#user.provider) || this.provider;
    this.#ui.who.textContent = `Signed in with ${this.#nameOf(provider)}`;
    this.#setState("signed-in");
    this.#emit("authai:signed-in", {
      jwt,
      user: this.user,
      expires: who && who.session ? who.session.expires : null,
    });
    this.#showLimits();
  }

  // -- plan limits (show-limits) ---------------------------------------------------------

  // Ask /auth/limits and list the windows; quietly shows nothing when it cannot be had.
  async #showLimits() {
    const asked = ++this.#limitsAsked;
    if (!this.hasAttribute("show-limits") || this.#state !== "signed-in") {
      this.#clearLimits();
      return null;
    }
    const jwt = this.getToken();
    let answer = null;
    try {
      const res = await fetch(`${this.base}/auth/limits`, {
        headers: jwt ? { Authorization: `Bearer ${jwt}` } : {},
        credentials: "same-origin",
        cache: "no-store",
      });
      if (res.ok) answer = await res.json();
    } catch {
      answer = null;
    }
    if (asked !== this.#limitsAsked || this.#state !== "signed-in") return null;
    this.#limits = answer && typeof answer === "object" ? answer : null;
    this.#ui.limits.replaceChildren(
      ...limitLines(this.#limits).map((line) => el("li", { part: "limit" }, line)),
    );
    this.#render();
    if (this.#limits) this.#emit("authai:limits", { limits: this.#limits });
    return this.#limits;
  }

  #clearLimits() {
    this.#limitsAsked++;
    this.#limits = null;
    this.#ui.limits.replaceChildren();
  }

  // -- rendering -------------------------------------------------------------------------

  #build(root) {
    const signIn = el("button", { type: "button", part: "button sign-in-button", class: "primary" });
    signIn.addEventListener("click", () => this.#start());
    // Provider-less: one button per provider, made in #render once the list is known.
    const choices = el("div", { part: "providers", class: "choices" });

    const link = el("a", { part: "link", target: "_blank", rel: "noopener noreferrer" });
    const linkText = el("span", { part: "link-text", class: "url" });
    const code = el("span", { part: "code", class: "code" });
    const copy = el("button", { type: "button", part: "button copy-button" }, "Copy");
    copy.addEventListener("click", () => this.#copy());
    const cancel = el("button", { type: "button", part: "button cancel-button" }, "Cancel");
    cancel.addEventListener("click", () => {
      this.#attempt = null;
      this.#say("");
      this.#setState("signed-out");
    });
    const status = el(
      "p",
      { part: "status", class: "muted", role: "status" },
      "Waiting for approval… Never share this code with anyone.",
    );
    const pending = el(
      "div",
      { part: "pending" },
      el("p", { part: "instructions" }, "1. Open ", link, linkText),
      el("p", { part: "instructions" }, "2. Enter this one-time code:"),
      el("div", { class: "row" }, code, copy),
      status,
      cancel,
    );

    const who = el("span", { part: "user", class: "who" });
    const signOut = el("button", { type: "button", part: "button sign-out-button" }, "Sign out");
    signOut.addEventListener("click", () => this.signOut());
    const signedIn = el("div", { part: "signed-in", class: "row" }, who, signOut);
    const limits = el("ul", { part: "limits", class: "limits muted" });
    const signedOut = el("div", { part: "signed-out" }, signIn, choices);

    const loading = el("p", { part: "loading", class: "muted" }, "Checking your session…");
    const message = el("p", { part: "message", class: "message", role: "alert" });
    const help = el("a", {
      part: "help-link",
      class: "help",
      target: "_blank",
      rel: "noopener noreferrer",
    });
    help.hidden = true;
    const box = el(
      "div",
      { part: "container", class: "box" },
      loading,
      signedOut,
      pending,
      signedIn,
      limits,
      message,
      help,
    );
    root.append(box);
    return {
      box,
      loading,
      signIn,
      choices,
      shownChoices: null,
      signedOut,
      pending,
      signedIn,
      link,
      linkText,
      code,
      copy,
      who,
      limits,
      message,
      help,
    };
  }

  #showCode(started, provider) {
    const ui = this.#ui;
    const url = String(started.verificationUrl || "");
    ui.code.textContent = String(started.userCode || "");
    ui.copy.textContent = "Copy";
    if (isAllowedVerificationUrl(url, provider, this.#extraOrigins())) {
      ui.link.href = url;
      ui.link.textContent = url;
      ui.link.hidden = false;
      ui.linkText.hidden = true;
    } else {
      // Not the provider's own page: show it as text only, and say why.
      ui.link.removeAttribute("href");
      ui.link.textContent = "";
      ui.link.hidden = true;
      ui.linkText.textContent = url;
      ui.linkText.hidden = false;
      this.#fail(
        "verification_host",
        "This sign-in link is not on the provider's own site, so it is not opened. " +
          "Only continue if you trust it.",
      );
    }
  }

  #extraOrigins() {
    const value = this.getAttribute("allow-verification-origin") || "";
    return value
      .split(/[\s,]+/)
      .filter(Boolean)
      .map(originOf)
      .filter((origin) => origin !== null);
  }

  async #copy() {
    const text = this.#ui.code.textContent;
    try {
      await navigator.clipboard.writeText(text);
      this.#ui.copy.textContent = "Copied";
    } catch {
      const range = document.createRange();
      range.selectNodeContents(this.#ui.code);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      this.#ui.copy.textContent = "Selected";
    }
    clearTimeout(this.#copyTimer);
    this.#copyTimer = setTimeout(() => (this.#ui.copy.textContent = "Copy"), 2000);
  }

  #setState(state) {
    // Keep keyboard focus inside the element when the view holding it is hidden.
    const hadFocus = this.shadowRoot.activeElement !== null;
    this.#state = state;
    this.setAttribute("state", state);
    this.#render();
    if (hadFocus) this.#focusTarget()?.focus();
  }

  #focusTarget() {
    const ui = this.#ui;
    if (this.#state === "signed-out") return this.#signInButtons()[0] || null;
    if (this.#state === "signed-in") return ui.signedIn.querySelector("button");
    if (this.#state === "pending") return ui.link.hidden ? ui.copy : ui.link;
    return null;
  }

  // The sign-in buttons on show: the one, or one per offered provider.
  #signInButtons() {
    if (!this.#offersAll()) return [this.#ui.signIn];
    return [...this.#ui.choices.querySelectorAll("button")];
  }

  #render() {
    const ui = this.#ui;
    const all = this.#offersAll();
    ui.signIn.hidden = all;
    ui.choices.hidden = !all;
    if (all) this.#renderChoices();
    else ui.signIn.textContent = `Sign in with ${PROVIDER_NAMES[this.provider] || this.provider}`;
    ui.loading.hidden = this.#state !== "loading";
    ui.signedOut.hidden = this.#state !== "signed-out";
    ui.pending.hidden = this.#state !== "pending";
    ui.signedIn.hidden = this.#state !== "signed-in";
    ui.limits.hidden = ui.signedIn.hidden || ui.limits.childElementCount === 0;
    ui.box.setAttribute("aria-busy", String(this.#state === "loading"));
  }

  #renderChoices() {
    const ui = this.#ui;
    if (ui.shownChoices === this.#choices) return;
    ui.shownChoices = this.#choices;
    const buttons = (this.#choices || []).map(({ id, name }) => {
      const part = `button sign-in-button sign-in-${id}`;
      const button = el("button", { type: "button", part, class: "primary" });
      button.dataset.provider = id;
      button.textContent = `Sign in with ${name}`;
      button.addEventListener("click", () => this.#start(id));
      return button;
    });
    ui.choices.replaceChildren(...buttons);
  }

  #say(text) {
    const ui = this.#ui;
    ui.message.textContent = text;
    ui.message.classList.remove("guidance");
    ui.help.hidden = true;
    ui.help.removeAttribute("href");
    ui.help.textContent = "";
  }

  // The provider refuses device-code sign-in until it is turned on: say what to do, with a
  // link to the settings page when it is on the provider's own site (the verification rule).
  #guide(answer, provider) {
    const ui = this.#ui;
    const name = this.#nameOf(provider);
    const said = typeof answer.error === "string" ? answer.error : "";
    const message =
      said ||
      `Device code sign-in is turned off for your ${name} account. Turn it on in its ` +
        "security settings (or ask your workspace admin), then sign in again.";
    const help = typeof answer.help === "string" ? answer.help : "";
    this.#setState("signed-out");
    this.#say(message);
    ui.message.classList.add("guidance");
    if (help && isAllowedVerificationUrl(help, provider, this.#extraOrigins())) {
      ui.help.href = help;
      ui.help.textContent = `Open the ${name} security settings`;
      ui.help.hidden = false;
    }
    this.#emit("authai:error", { code: DEVICE_CODE_DISABLED, message, help: help || null });
  }

  #fail(code, message) {
    this.#say(message);
    this.#emit("authai:error", { code, message });
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }
}

if (!customElements.get("authai-signin")) customElements.define("authai-signin", AuthAISignin);
