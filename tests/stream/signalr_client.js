// Connects the official @microsoft/signalr client to "<app>/api" the way the dashboard does:
// negotiate with the app, follow the redirect to the hub, then print each "logs" message as a
// JSON line. Usage: node signalr_client.js APP_BASE_URL HEADERS_JSON COUNT
const signalR = require("@microsoft/signalr");

const [appBase, headers, count] = process.argv.slice(2);
const connection = new signalR.HubConnectionBuilder()
  .withUrl(`${appBase}/api`, { headers: JSON.parse(headers) })
  .configureLogging(signalR.LogLevel.Warning)
  .build();

let remaining = Number(count || 1);
connection.on("logs", async (records) => {
  process.stdout.write(JSON.stringify(records) + "\n");
  remaining -= 1;
  if (remaining === 0) {
    await connection.stop();
    process.exit(0);
  }
});
connection.onclose((error) => {
  if (remaining > 0) {
    process.stderr.write(`closed: ${error}\n`);
    process.exit(2);
  }
});

connection
  .start()
  .then(() => process.stdout.write(`connected ${connection.connectionId}\n`))
  .catch((error) => {
    process.stderr.write(`failed: ${error}\n`);
    process.exit(1);
  });
