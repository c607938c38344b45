// The page at `GET /` for trying the server by hand: self-contained (no external resources),
// it calls /v1/classify from the browser (data, not logic).

enum ServePage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mode serve</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 60em; padding: 0 1em; color: #222; }
  h1 { font-size: 1.4em; }
  #drop { border: 2px dashed #999; border-radius: 8px; padding: 2em; text-align: center; color: #666; }
  #drop.over { border-color: #36c; background: #eef3ff; }
  label { display: block; margin-top: .8em; font-weight: 600; }
  input[type=text], textarea, select { width: 100%; box-sizing: border-box; padding: .4em; font: inherit; }
  button { margin-top: 1em; padding: .5em 1.5em; font: inherit; }
  .row { display: flex; gap: 1em; align-items: flex-start; margin: 1em 0; border-top: 1px solid #ddd; padding-top: 1em; }
  .row img { width: 96px; height: 96px; object-fit: cover; border-radius: 4px; }
  .bars { flex: 1; }
  .bar { display: flex; align-items: center; gap: .5em; margin: .15em 0; }
  .bar span:first-child { width: 12em; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .fill { height: 1em; background: #36c; border-radius: 2px; }
  .weight .fill { background: #c63; }
  #error { color: #b00; white-space: pre-wrap; }
</style>
</head>
<body>
<h1>mode serve — zero-shot classification with routed experts</h1>
<div id="drop">Drop images here, or <input type="file" id="files" accept="image/jpeg,image/png,image/webp" multiple></div>
<label for="labels">Labels (comma-separated)</label>
<input type="text" id="labels" value="cat, dog, car, tree">
<label for="templates">Templates, one a line with {c} (empty: OpenAI's 80)</label>
<textarea id="templates" rows="2">a photo of a {c}.</textarea>
<label for="topk">Top labels per image</label>
<input type="text" id="topk" value="5">
<label for="routing">Routing</label>
<select id="routing"><option>paper</option><option>reference</option><option>uniform</option></select>
<label for="token">Bearer token (if the server has one)</label>
<input type="text" id="token" autocomplete="off">
<button id="go">Classify</button>
<div id="error"></div>
<h2 id="routingTitle" hidden>Routing weights</h2>
<div id="weights" class="bars"></div>
<div id="results"></div>
<script>
"use strict";
const chosen = [];
const drop = document.getElementById("drop");
function add(files) {
  for (const f of files) chosen.push(f);
  drop.firstChild.textContent = chosen.length + " image(s) chosen — drop more, or ";
}
drop.addEventListener("dragover", e => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", e => { e.preventDefault(); drop.classList.remove("over"); add(e.dataTransfer.files); });
document.getElementById("files").addEventListener("change", e => add(e.target.files));
function base64(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result.slice(r.result.indexOf(",") + 1));
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
}
function bar(name, value, cls) {
  const row = document.createElement("div");
  row.className = "bar " + (cls || "");
  const label = document.createElement("span");
  label.textContent = name;
  const fill = document.createElement("span");
  fill.className = "fill";
  fill.style.width = Math.max(1, Math.round(value * 300)) + "px";
  const number = document.createElement("span");
  number.textContent = value.toFixed(4);
  row.append(label, fill, number);
  return row;
}
document.getElementById("go").addEventListener("click", async () => {
  const error = document.getElementById("error"), results = document.getElementById("results"), weights = document.getElementById("weights");
  error.textContent = ""; results.textContent = ""; weights.textContent = "";
  if (chosen.length === 0) { error.textContent = "Choose some images first."; return; }
  const body = {
    images: await Promise.all(chosen.map(base64)),
    labels: document.getElementById("labels").value.split(",").map(s => s.trim()).filter(s => s.length > 0),
    top_k: parseInt(document.getElementById("topk").value, 10) || 5,
    routing: document.getElementById("routing").value,
  };
  const templates = document.getElementById("templates").value.split("\n").map(s => s.trim()).filter(s => s.length > 0);
  if (templates.length > 0) body.templates = templates;
  const headers = { "Content-Type": "application/json" };
  const token = document.getElementById("token").value.trim();
  if (token) headers.Authorization = "Bearer " + token;
  try {
    const response = await fetch("/v1/classify", { method: "POST", headers, body: JSON.stringify(body) });
    const answer = await response.json();
    if (!response.ok) { error.textContent = response.status + ": " + (answer.error || "failed"); return; }
    document.getElementById("routingTitle").hidden = false;
    answer.routing.experts.forEach((name, i) => weights.append(bar(name, answer.routing.weights[i], "weight")));
    answer.results.forEach((result, i) => {
      const row = document.createElement("div");
      row.className = "row";
      const img = document.createElement("img");
      img.src = URL.createObjectURL(chosen[i]);
      img.alt = chosen[i].name;
      const bars = document.createElement("div");
      bars.className = "bars";
      for (const t of result.top) bars.append(bar(t.label, t.probability));
      row.append(img, bars);
      results.append(row);
    });
  } catch (e) {
    error.textContent = String(e);
  }
});
</script>
</body>
</html>
"""#
}
