// The staff API as the console uses it: the session cookie goes by itself (same origin); changes carry
// the session's CSRF token, read from its cookie.

export class ApiError extends Error {
  constructor(status, body) {
    super(
      typeof body?.message === 'string' ? body.message : `The request failed (${status || 'no answer'}).`,
    );
    this.name = 'ApiError';
    this.status = status;
    this.code = typeof body?.code === 'string' ? body.code : `HTTP.${status}`;
    this.errors = Array.isArray(body?.errors) ? body.errors : [];
  }
}

function csrfToken() {
  const match = document.cookie.split('; ').find((part) => part.startsWith('payflow_staff_csrf='));
  return match ? decodeURIComponent(match.slice('payflow_staff_csrf='.length)) : '';
}

/** `/api/admin${path}`; resolves with the JSON body (null for 204), rejects with an ApiError. */
export async function api(path, { method = 'GET', body, headers = {} } = {}) {
  const sent = { Accept: 'application/json', ...headers };
  if (body !== undefined) sent['Content-Type'] = 'application/json';
  if (method !== 'GET') sent['X-CSRF-Token'] = csrfToken();
  let response;
  try {
    response = await fetch(`/api/admin${path}`, {
      method,
      headers: sent,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, null);
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** A readable sentence for an error, with the fields at fault. */
export function describe(error) {
  if (!(error instanceof ApiError)) return 'Something went wrong.';
  if (error.status === 0) return 'The service cannot be reached. Check the connection and try again.';
  const fields = error.errors.map((e) => e.message).filter((m) => m && m !== error.message);
  return [error.message, ...fields].join(' ');
}
