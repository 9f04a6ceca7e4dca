/** Text files imported `with { type: "text" }` (Bun and Deno 2): the file's content as a string. */
declare module "*.example" {
  const text: string;
  export default text;
}
