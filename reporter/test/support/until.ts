// Waits for a condition the test cannot be told about directly (a server's counter, a spool file),
// polling, with a deadline that names what it was waiting for.
export async function until(what: string, cond: () => boolean, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
