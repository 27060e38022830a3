// Sends one event over Socket.IO with socket.io-client and prints the acknowledged
// response event as JSON. Usage: node client.js http://127.0.0.1:PORT
"use strict";
const { io } = require("socket.io-client");

const socket = io(process.argv[2] + "/events", { transports: ["websocket"], timeout: 10000 });
const envelope = {
  name: "rates:get",
  version: 1,
  id: "js-1",
  flowId: "js-flow",
  payload: {},
  identity: {},
  auth: { token: "js-secret" },
  metadata: { origin: "node" }
};
const failure = setTimeout(() => { console.error("no answer"); process.exit(2); }, 15000);

socket.on("connect_error", (error) => { console.error(error.message); process.exit(1); });
socket.on("connect", () => {
  socket.emit("event", envelope, (answer) => {
    clearTimeout(failure);
    console.log(JSON.stringify(answer));
    socket.close();
  });
});
