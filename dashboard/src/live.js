// The live stream over SignalR: negotiate with the operator's key, connect with the
// official client, and reconnect with exponential backoff (a fresh negotiate each time,
// since the access token expires). The caller fills the gap from history on `onResumed`.
import { HubConnectionBuilder, HttpTransportType, LogLevel } from "@microsoft/signalr";

const consoleLogger = {
  log(level, message) {
    if (level >= LogLevel.Error) console.warn("[signalr]", message);
  },
};

export function backoffDelay(attempt, { base = 500, max = 30_000, random = Math.random } = {}) {
  const ceiling = Math.min(max, base * 2 ** attempt);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

function absolute(url) {
  return new URL(url, window.location.href).toString();
}

export class LiveStream {
  /** handlers: onState(state, detail), onLogs(records), onAlert(alert), onReport(report),
   * onResumed() after a reconnect, onUnauthorised(). */
  constructor(negotiate, handlers) {
    this.negotiate = negotiate;
    this.handlers = handlers;
    this.connection = null;
    this.attempt = 0;
    this.timer = null;
    this.stopped = true;
    this.everConnected = false;
  }

  start() {
    this.stopped = false;
    this.attempt = 0;
    this.connect();
  }

  async stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    const connection = this.connection;
    this.connection = null;
    if (connection) await connection.stop().catch(() => {});
    this.handlers.onState("offline");
  }

  /** Drop the connection as a network failure would (used to test the reconnect). */
  drop() {
    this.connection?.stop();
  }

  async connect() {
    if (this.stopped) return;
    this.handlers.onState(this.everConnected ? "reconnecting" : "connecting");
    let connection;
    try {
      const info = await this.negotiate();
      connection = new HubConnectionBuilder()
        .withUrl(absolute(info.url), {
          accessTokenFactory: () => info.accessToken,
          transport: HttpTransportType.WebSockets,
          skipNegotiation: false,
        })
        .configureLogging(consoleLogger)
        .build();
      connection.serverTimeoutInMilliseconds = 30_000;
      connection.on("logs", (records) => this.handlers.onLogs(Array.isArray(records) ? records : [records]));
      connection.on("alert", (alert) => this.handlers.onAlert(alert));
      connection.on("report", (report) => this.handlers.onReport(report));
      connection.onclose((error) => this.closed(connection, error));
      await connection.start();
    } catch (error) {
      if (error && error.status === 401) {
        this.stopped = true;
        this.handlers.onUnauthorised();
        return;
      }
      this.retry(error);
      return;
    }
    if (this.stopped) {
      connection.stop();
      return;
    }
    this.connection = connection;
    const resumed = this.everConnected;
    this.everConnected = true;
    this.attempt = 0;
    this.handlers.onState("live");
    if (resumed) this.handlers.onResumed();
  }

  closed(connection, error) {
    if (connection !== this.connection) return;
    this.connection = null;
    if (!this.stopped) this.retry(error);
  }

  retry(error) {
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    this.handlers.onState("waiting", {
      retryAt: Date.now() + delay,
      reason: error?.message ?? "connection lost",
    });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }
}
