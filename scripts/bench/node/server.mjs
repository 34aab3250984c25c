// The tutorial's Node.js chat server (HAProxy + four Node servers + Redis
// pub/sub), re-implemented for scripts/bench with the same libraries
// (npm `websocket`, `redis@3`) and the same behaviour on the wire:
//
//   * a client that connects gets "Connected successfully to server <APPID>"
//     5 s later (the tutorial's setTimeout);
//   * each text message a client sends is PUBLISHed to Redis channel livechat;
//   * one subscriber connection per server; every message on livechat goes to
//     every client of this server as "<APPID>:<text>".
//
// Differences, both needed to run it here: the port and Redis address come
// from the environment (PORT, APPID, REDIS_HOST, REDIS_PORT) instead of the
// tutorial's fixed 8080 and "rds" host; and a closed connection leaves the
// list (the tutorial keeps it forever, so a long benchmark would keep
// sending to dead sockets).
import http from "http";
import redis from "redis";
import websocket from "websocket";

const APPID = process.env.APPID || "node";
const PORT = Number(process.env.PORT || 8080);
const REDIS = { host: process.env.REDIS_HOST || "127.0.0.1", port: Number(process.env.REDIS_PORT || 6379) };
const CHANNEL = "livechat";

const subscriber = redis.createClient(REDIS);
const publisher = redis.createClient(REDIS);
const connections = new Set();

subscriber.on("subscribe", () => {
  console.log(`Server ${APPID} subscribed successfully to ${CHANNEL}`);
  // The tutorial announces itself on the channel.
  publisher.publish(CHANNEL, "a message");
});

subscriber.on("message", (channel, message) => {
  try {
    console.log(`Server ${APPID} received message in channel ${channel} msg: ${message}`);
    connections.forEach((c) => c.send(`${APPID}:${message}`));
  } catch (err) {
    console.log(`ERR::${err}`);
  }
});

subscriber.subscribe(CHANNEL);

const httpServer = http.createServer();
const wsServer = new websocket.server({ httpServer });

httpServer.listen(PORT, "127.0.0.1", () => console.log(`Server ${APPID} listening on port ${PORT}`));

wsServer.on("request", (request) => {
  const con = request.accept(null, request.origin);
  con.on("close", () => connections.delete(con));
  con.on("message", (message) => {
    console.log(`${APPID} Received message ${message.utf8Data}`);
    publisher.publish(CHANNEL, message.utf8Data);
  });
  setTimeout(() => con.send(`Connected successfully to server ${APPID}`), 5000);
  connections.add(con);
});

process.on("SIGTERM", () => {
  subscriber.quit();
  publisher.quit();
  connections.forEach((c) => c.close());
  process.exit(0);
});
