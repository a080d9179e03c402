// The pipeline's HTTP API as the dashboard uses it: every call carries the operator's key.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const SEARCH_FIELDS = ["q", "level", "min_level", "logger_name", "event_type", "request_id", "trace_id", "user_id", "session_id", "start", "end"];

/** Query parameters for the search and export endpoints from the dashboard's filters. */
export function filterParams(filters, extra = {}) {
  const params = new URLSearchParams();
  for (const name of SEARCH_FIELDS) {
    const value = filters[name];
    if (value !== undefined && value !== null && String(value).trim() !== "") {
      params.set(name, String(value).trim());
    }
  }
  for (const service of filters.services ?? []) params.append("service", service);
  for (const expression of filters.where ?? []) params.append("where", expression);
  for (const [name, value] of Object.entries(extra)) {
    if (value !== undefined && value !== null && value !== "") params.set(name, String(value));
  }
  return params;
}

export function createApi(getKey, onUnauthorised) {
  async function call(method, path, { params, accept = "application/json", headers = {} } = {}) {
    const url = "/api/" + path + (params && [...params].length ? "?" + params : "");
    let response;
    try {
      response = await fetch(url, {
        method,
        // Without a key the call relies on the browser's App Service Authentication session.
        headers: { ...headers, ...(getKey() ? { Authorization: "Bearer " + getKey() } : {}), Accept: accept },
        cache: "no-store",
      });
    } catch (err) {
      throw new ApiError(0, "network error: " + err.message);
    }
    if (response.status === 401) {
      onUnauthorised();
      throw new ApiError(401, "the key was not accepted");
    }
    if (!response.ok) {
      let message = response.statusText || "request failed";
      try {
        const body = await response.json();
        if (body && body.error) message = body.error;
      } catch {
        // not a JSON error body
      }
      throw new ApiError(response.status, message);
    }
    return response;
  }

  const json = async (method, path, options) => (await call(method, path, options)).json();

  return {
    // Each connection negotiates as a fresh random SignalR user; the server puts that user in
    // the group of the key's role.
    negotiate: () => json("POST", "negotiate", { headers: { "X-SignalR-User-Id": randomId() } }),
    search: (filters, extra) => json("GET", "logs/search", { params: filterParams(filters, extra) }),
    record: (id) => json("GET", "logs/" + encodeURIComponent(id)),
    aggregate: (filters, extra) => json("GET", "logs/aggregate", { params: filterParams(filters, extra) }),
    fields: (filters, extra) => json("GET", "logs/fields", { params: filterParams(filters, extra) }),
    stats: (range = "1h") => json("GET", "logs/stats", { params: new URLSearchParams({ range }) }),
    alerts: () => json("GET", "alerts"),
    me: () => json("GET", "me"),
    currentReport: () => json("GET", "reports/current"),
    reports: (limit = 48) => json("GET", "reports", { params: new URLSearchParams({ limit: String(limit) }) }),
    trades: (query = {}) => {
      const params = new URLSearchParams();
      for (const [name, value] of Object.entries(query)) {
        if (value !== undefined && value !== null && String(value).trim() !== "") params.set(name, String(value).trim());
      }
      return json("GET", "trades", { params });
    },
    trade: (key) => json("GET", "trades/" + encodeURIComponent(key)),
    exportBlob: async (filters, format) => {
      const accept = format === "csv" ? "text/csv" : "application/x-ndjson";
      const response = await call("GET", "logs/export", {
        params: filterParams(filters, { format }),
        accept,
      });
      return response.blob();
    },
  };
}
