// Pixel console: chat with Pixel through the gateway's own OpenAI API (streamed), show the
// scores of each reply and a crisis banner with the deployment's pointer. No build step.
"use strict";

const $ = (id) => document.getElementById(id);
const EQ_NAMES = {
  self_awareness: "self-awareness", self_regulation: "self-regulation",
  motivation: "motivation", empathy: "empathy", social_skill: "social skill",
};
let history = [];          // the conversation so far, OpenAI messages
let conversationId = newId();

function newId() {
  return "console-" + Array.from(crypto.getRandomValues(new Uint8Array(12)),
    (b) => b.toString(16).padStart(2, "0")).join("");
}

function headers() {
  const h = { "Content-Type": "application/json", "X-Pixel-Conversation-Id": conversationId };
  const key = $("api-key").value.trim();
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

function addTurn(kind, who, text) {
  const div = document.createElement("div");
  div.className = "turn " + kind;
  const label = document.createElement("div");
  label.className = "who";
  label.textContent = who;
  const body = document.createElement("div");
  body.className = "text";
  body.textContent = text;
  div.append(label, body);
  $("log").append(div);
  div.scrollIntoView({ block: "end" });
  return div;
}

function showCrisis(pointer) {
  $("crisis-pointer").textContent = pointer || "Please contact a crisis line or emergency services now.";
  $("crisis-banner").classList.add("shown");
}

function bar(value) {
  const width = Math.round(Math.max(0, Math.min(1, value)) * 80);
  return `<span class="bar" style="width:${width}px"></span>`;
}

function showScores(turn, pixel) {
  const rows = [["overall EQ", pixel.overall_eq]];
  for (const [name, value] of Object.entries(pixel.eq_scores || {})) {
    rows.push(["EQ " + (EQ_NAMES[name] || name), value]);
  }
  rows.push(["safety (1 = safe)", pixel.safety_score], ["bias (0 = none)", pixel.bias_score]);
  const table = rows.map(([name, v]) =>
    `<tr><td>${name}</td><td>${v.toFixed(3)}</td><td>${bar(v)}</td></tr>`).join("");
  const div = document.createElement("div");
  div.className = "scores";
  div.innerHTML = `<table>${table}</table>`;
  const meta = document.createElement("div");
  meta.textContent = `persona ${pixel.persona_mode} · crisis ${pixel.crisis_flag ? "YES" : "no"}` +
    ` · variant ${pixel.variant} · server ${Math.round(pixel.inference_time_ms)} ms` +
    ` · total ${Math.round(pixel.latency_ms)} ms`;
  div.append(meta);
  turn.append(div);
}

async function errorText(response) {
  try {
    const body = await response.json();
    return `${response.status}: ${body.error.message}`;
  } catch (e) {
    return `${response.status} ${response.statusText}`;
  }
}

async function send(text) {
  history.push({ role: "user", content: text });
  addTurn("user", "you", text);
  const turn = addTurn("assistant", "Pixel", "");
  const body = turn.querySelector(".text");
  $("send").disabled = true;
  $("status").textContent = "Pixel is writing…";
  let reply = "";
  try {
    const response = await fetch("/v1/chat/completions", {
      method: "POST", headers: headers(),
      body: JSON.stringify({ model: $("model").value || "pixel", messages: history, stream: true }),
    });
    if (!response.ok) throw new Error(await errorText(response));
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const line = buffer.slice(0, cut).trim();
        buffer = buffer.slice(cut + 2);
        if (!line.startsWith("data: ")) continue;
        const data = line.slice(6);
        if (data === "[DONE]") continue;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new Error(chunk.error.message);
        for (const choice of chunk.choices || []) {
          if (choice.delta && choice.delta.content) {
            reply += choice.delta.content;
            body.textContent = reply;
          }
        }
        const pixel = chunk.pixel;
        if (pixel && pixel.crisis_flag) {
          turn.classList.add("crisis");
          showCrisis(pixel.crisis_pointer);
        }
        if (pixel && pixel.eq_scores) showScores(turn, pixel);
      }
    }
    history.push({ role: "assistant", content: reply });
  } catch (error) {
    history.pop();  // the message was not answered: it is not part of the conversation
    turn.classList.add("error");
    body.textContent = "error " + error.message;
  } finally {
    $("send").disabled = false;
    $("status").textContent = "";
  }
}

async function loadModels() {
  const select = $("model");
  try {
    const response = await fetch("/v1/models", { headers: headers() });
    if (!response.ok) throw new Error(await errorText(response));
    const models = (await response.json()).data;
    select.innerHTML = "";
    for (const m of models) {
      const option = document.createElement("option");
      option.value = m.id;
      option.textContent = `${m.id} (${m.pixel.context_type})`;
      select.append(option);
    }
  } catch (error) {
    $("status").textContent = "models: " + error.message;
  }
}

$("api-key").value = localStorage.getItem("pixel-api-key") || "";
$("api-key").addEventListener("change", () => {
  localStorage.setItem("pixel-api-key", $("api-key").value.trim());
  loadModels();
});
$("new-conversation").addEventListener("click", () => {
  history = [];
  conversationId = newId();
  $("log").innerHTML = "";
  $("crisis-banner").classList.remove("shown");
});
$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("message").value.trim();
  if (!text || $("send").disabled) return;
  $("message").value = "";
  send(text);
});
$("message").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
});
loadModels();
