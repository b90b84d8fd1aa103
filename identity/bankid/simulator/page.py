"""The simulated BankID app: one HTML page, its script and its style sheet.

Kept as Python strings so they ship inside the package without package-data rules. The page
loads nothing from elsewhere, and the script writes every value with ``textContent`` (never
``innerHTML``), so text from a relying party (``userVisibleData``) cannot become markup. The
control app serves them under a Content-Security-Policy that allows only same-origin scripts.
"""

from __future__ import annotations

PAGE_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>BankID simulator</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header>
  <h1>BankID simulator</h1>
  <p>A stand-in for the BankID app, for development only. Nothing here is a real identification.</p>
</header>
<main>
  <section aria-labelledby="who-heading">
    <h2 id="who-heading">1. Who are you?</h2>
    <label for="person">Test person</label>
    <select id="person"></select>
  </section>
  <section aria-labelledby="start-heading">
    <h2 id="start-heading">2. Start an order in the app</h2>
    <form id="scan-form">
      <label for="qr-data">Scan a QR code: paste its content (bankid.&hellip;)</label>
      <input id="qr-data" name="qrData" autocomplete="off" spellcheck="false">
      <button type="submit">Scan</button>
    </form>
    <form id="autostart-form">
      <label for="autostart-token">Open with an autostart token</label>
      <input id="autostart-token" name="autoStartToken" autocomplete="off" spellcheck="false">
      <button type="submit">Open</button>
    </form>
  </section>
  <section aria-labelledby="orders-heading">
    <h2 id="orders-heading">3. Orders waiting for someone</h2>
    <p id="no-orders">No orders are waiting.</p>
    <ul id="orders"></ul>
  </section>
  <div id="status" role="status" aria-live="polite"></div>
  <p id="return" hidden><a id="return-link" href="/">Return to the service</a></p>
</main>
</body>
</html>
"""

PAGE_JS = r"""
"use strict";

const HINTS = {
  outstandingTransaction: "waiting for the app to start the order",
  started: "started in the app, choose an ID",
  userCallConfirm: "confirm that you are in a call with the service",
  userMrtd: "confirm your passport or national ID card",
  userSign: "waiting for you to approve",
};

const params = new URLSearchParams(window.location.search);
const returnAddress = safeHttpUrl(params.get("redirect"));
let followedOrder = null;

function safeHttpUrl(value) {
  if (!value) return null;
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch (error) {
    return null;
  }
}

async function call(method, path, body) {
  const init = { method, cache: "no-store", credentials: "same-origin", headers: {} };
  if (method !== "GET") {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body || {});
  }
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(data.detail || data.title || "HTTP " + response.status);
  }
  return data;
}

function say(text) {
  document.getElementById("status").textContent = text;
}

function selectedPerson() {
  return document.getElementById("person").value;
}

function button(label, action) {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = label;
  element.addEventListener("click", async () => {
    try {
      await action();
      await refresh();
    } catch (error) {
      say(error.message);
    }
  });
  return element;
}

function line(text, className) {
  const element = document.createElement("p");
  element.textContent = text;
  if (className) element.className = className;
  return element;
}

function showReturn(order) {
  const target = safeHttpUrl(order.returnUrl) || returnAddress;
  if (!target) return;
  document.getElementById("return-link").href = target;
  document.getElementById("return").hidden = false;
}

function renderOrder(order) {
  const item = document.createElement("li");
  const kind = order.kind.startsWith("phone") ? "Phone " + order.kind.slice(6) : order.kind;
  const hint = HINTS[order.hintCode] || order.hintCode;
  item.append(line(kind + " · " + Math.round(order.ageSeconds) + " s old · " + hint, "meta"));
  if (order.personalNumber) item.append(line("Only for " + order.personalNumber));
  if (order.userVisibleData) item.append(line(order.userVisibleData, "visible-data"));
  const ref = encodeURIComponent(order.orderRef);
  const actions = document.createElement("div");
  actions.className = "actions";
  const canIdentify = order.hintCode === "started" || (order.kind.startsWith("phone") && !order.pickedUpBy);
  if (canIdentify) {
    actions.append(button("Identify as the chosen person", () =>
      call("POST", "/sim/orders/" + ref + "/identify", { personalNumber: selectedPerson() })));
  }
  if (order.hintCode === "userCallConfirm" || order.hintCode === "userMrtd") {
    actions.append(button(order.hintCode === "userMrtd" ? "Confirm travel document" : "Yes, I am in the call",
      () => call("POST", "/sim/orders/" + ref + "/confirm", {})));
  }
  actions.append(button("Approve", async () => {
    const body = order.person ? {} : { personalNumber: order.personalNumber || selectedPerson() };
    await call("POST", "/sim/orders/" + ref + "/complete", body);
    say("Approved.");
    showReturn(order);
  }));
  actions.append(button("Cancel", async () => {
    await call("POST", "/sim/orders/" + ref + "/fail", { hintCode: "userCancel" });
    say("Cancelled.");
    showReturn(order);
  }));
  item.append(actions);
  if (followedOrder === order.orderRef) item.className = "followed";
  return item;
}

async function refresh() {
  const list = document.getElementById("orders");
  try {
    const data = await call("GET", "/sim/orders");
    list.replaceChildren(...data.orders.map(renderOrder));
    document.getElementById("no-orders").hidden = data.orders.length > 0;
  } catch (error) {
    say("Cannot reach the simulator: " + error.message);
  }
}

async function loadPersons() {
  const data = await call("GET", "/sim/persons");
  const select = document.getElementById("person");
  for (const person of data.persons) {
    const option = document.createElement("option");
    option.value = person.personalNumber;
    option.textContent = person.name + " (" + person.personalNumber + ")";
    select.append(option);
  }
}

async function pickUp(path, body) {
  try {
    const order = await call("POST", path, body);
    followedOrder = order.orderRef;
    say("Order started in the app. Choose an ID and approve it below.");
  } catch (error) {
    say(error.message);
  }
  await refresh();
}

document.addEventListener("DOMContentLoaded", async () => {
  document.getElementById("scan-form").addEventListener("submit", (event) => {
    event.preventDefault();
    pickUp("/sim/scan", { qrData: document.getElementById("qr-data").value });
  });
  document.getElementById("autostart-form").addEventListener("submit", (event) => {
    event.preventDefault();
    pickUp("/sim/autostart", { autoStartToken: document.getElementById("autostart-token").value });
  });
  await loadPersons().catch((error) => say(error.message));
  const token = params.get("autostarttoken");
  if (token) {
    document.getElementById("autostart-token").value = token;
    await pickUp("/sim/autostart", { autoStartToken: token });
  } else {
    await refresh();
  }
  window.setInterval(refresh, 1500);
});
"""

PAGE_CSS = """
body { font-family: system-ui, sans-serif; margin: 0; color: #1a1a1a; background: #f6f6f4; line-height: 1.5; }
header, main { max-width: 40rem; margin: 0 auto; padding: 1rem; }
header { border-bottom: 1px solid #ccc; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
h2 { font-size: 1.15rem; margin-top: 1.5rem; }
label { display: block; font-weight: 600; margin: .75rem 0 .25rem; }
input, select { width: 100%; box-sizing: border-box; padding: .5rem; font: inherit; border: 1px solid #555;
  border-radius: 4px; }
button { font: inherit; padding: .5rem .9rem; margin: .5rem .5rem 0 0; border: 1px solid #193e72; border-radius: 4px;
  background: #193e72; color: #fff; cursor: pointer; }
button:focus-visible, input:focus-visible, select:focus-visible, a:focus-visible {
  outline: 3px solid #f0a500; outline-offset: 2px; }
ul { list-style: none; padding: 0; }
li { background: #fff; border: 1px solid #bbb; border-radius: 6px; padding: .75rem; margin-bottom: .75rem; }
li.followed { border: 2px solid #193e72; }
.meta { font-weight: 600; margin: 0; }
.visible-data { white-space: pre-wrap; background: #eef2f7; padding: .5rem; border-radius: 4px; }
#status { min-height: 1.5rem; font-weight: 600; margin-top: 1rem; }
"""
