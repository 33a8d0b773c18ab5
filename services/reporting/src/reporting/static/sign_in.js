// Sign-in of the ops dashboard: e-mail and password to identity's POST <base>/auth/token.
// <base> is what reporting put in the page's <meta name="byggrygg-identity-url">: behind the
// gateway identity's sibling route on this origin, served directly identity's own address
// (routers/dashboard_sign_in.py). The token is returned to the caller and kept nowhere here.

// Why a sign-in failed, as the page words it; `reason` is what the page shows in data-reason.
export class SignInError extends Error {
  constructor(reason, message) {
    super(message);
    this.reason = reason;
  }
}

// The base URL identity's sign-in lives at ("" when the page has none).
export function identityBase() {
  const meta = document.querySelector('meta[name="byggrygg-identity-url"]');
  return meta ? meta.content.replace(/\/+$/, "") : "";
}

// The text of an RFC 9457 problem document (or of the status when the body is not one).
export async function problemText(response) {
  try {
    const problem = await response.json();
    return problem.detail || problem.title || `HTTP ${response.status}`;
  } catch (_ignored) {
    return `HTTP ${response.status}`;
  }
}

// { token, expiresIn } for these credentials, or a SignInError.
export async function signIn(base, email, password) {
  let response;
  try {
    response = await fetch(`${base}/auth/token`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ email, password }),
      // Nothing is sent but the body: no cookies, no referrer, nothing cached.
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
    });
  } catch (_error) {
    throw new SignInError("unreachable", `Sign-in failed: identity is not reachable at ${base}.`);
  }
  if (response.ok) {
    const body = await response.json();
    return { token: body.access_token, expiresIn: body.expires_in };
  }
  const text = await problemText(response);
  if (response.status === 401) {
    throw new SignInError("bad-credentials", `Sign-in failed: ${text}`);
  }
  throw new SignInError("failed", `Sign-in failed (${response.status}): ${text}`);
}
