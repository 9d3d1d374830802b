/**
 * What a person who followed a link to `/r/<id>` with a malformed room ID
 * sees: a page that says so (status 400), rather than the API's JSON error.
 */

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

export function badRoomPage(id: string, rule: string): string {
  // Echoed escaped and cut short: the ID came from the address bar, so it is anyone's text.
  const shown = id.length > 80 ? `${id.slice(0, 80)}…` : id;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Ccircle cx='8' cy='8' r='7' fill='%23282'/%3E%3C/svg%3E">
<title>Not a room ID</title></head>
<body style="font:16px/1.5 system-ui,sans-serif;max-width:36em;margin:3em auto;padding:0 1em">
<h1>This link has a malformed room ID</h1>
<p>“<code>${escapeHtml(shown)}</code>” is not a room ID. ${escapeHtml(rule)}.</p>
<p>Check the link you were given, or <a href="./..">start a new room</a>.</p>
</body></html>
`;
}
