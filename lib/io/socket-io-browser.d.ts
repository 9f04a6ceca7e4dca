/** socket.io-client's browser build (UMD): its module value is the `io` function itself. */
declare module "socket.io-client/dist/socket.io.js" {
  const io: typeof import("socket.io-client").io;
  export default io;
}
