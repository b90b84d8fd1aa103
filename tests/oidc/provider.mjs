// A real OpenID provider for the staff sign-in tests: the npm package `oidc-provider` (an
// OpenID Certified implementation), with a login page of its own standing in for the person at
// a SITHS card reader or their organisation's login.
//
// Run: node tests/oidc/provider.mjs '<json>' where the JSON names
//   client_id, client_secret, redirect_uri, and accounts: { "<sub>": { <claims> } }.
// It listens on a free loopback port and prints one line, {"issuer": "..."}, when it does.
//
// The login page (/interaction/<uid>) offers each account and each SITHS level of assurance;
// the test picks them as a person would. Nothing of the protocol is changed: codes, PKCE, the
// signed ID token (RS256) and the published keys are the provider's own. One switch exists for
// the bad-signature test: POST /test/publish-other-keys makes /jwks publish another key under
// the same key id, as a provider that rotated its keys behind the relying party's back would.

import crypto from "node:crypto";
import http from "node:http";
import Provider from "oidc-provider";

const options = JSON.parse(process.argv[2]);
const LOA2 = "http://id.sambi.se/loa/loa2";
const LOA3 = "http://id.sambi.se/loa/loa3";
const KID = "signing-key";

function rsaJwk() {
  const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { ...privateKey.export({ format: "jwk" }), kid: KID, alg: "RS256", use: "sig" };
}

const signing = rsaJwk();
const other = rsaJwk();
const publicPart = ({ kty, n, e, kid, alg, use }) => ({ kty, n, e, kid, alg, use });
let publishOtherKeys = false;

let issuer;
let provider;
let callback;

function configure() {
  provider = new Provider(issuer, {
  clients: [
    {
      client_id: options.client_id,
      client_secret: options.client_secret,
      redirect_uris: [options.redirect_uri],
      response_types: ["code"],
      grant_types: ["authorization_code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  jwks: { keys: [signing] },
  acrValues: [LOA2, LOA3],
  claims: {
    openid: ["sub"],
    profile: [
      "given_name",
      "family_name",
      "employeeHsaId",
      "credentialPersonalIdentityNumber",
      "personal_identity_number",
    ],
  },
  // The claims asked for by scope go into the ID token itself, as Inera's IdP does.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  ttl: { IdToken: 60 },
  cookies: { keys: [crypto.randomBytes(32).toString("hex")] },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(_ctx, sub) {
    const claims = options.accounts[sub];
    if (!claims) return undefined;
    return { accountId: sub, claims: async () => ({ sub, ...claims }) };
  },
  });
  callback = provider.callback();
}

const escape = (text) =>
  String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

function loginPage(uid) {
  const people = Object.keys(options.accounts)
    .map((sub, i) => `<label><input type="radio" name="sub" value="${escape(sub)}"${i === 0 ? " checked" : ""}> ${escape(sub)}</label>`)
    .join("<br>");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test IdP</title></head><body>
<h1>Test identity provider</h1>
<form method="post" action="/interaction/${escape(uid)}">
<fieldset><legend>Person</legend>${people}</fieldset>
<fieldset><legend>Card</legend>
<label><input type="radio" name="acr" value="${LOA3}" checked> Ordinary card (loa3)</label><br>
<label><input type="radio" name="acr" value="${LOA2}"> Temporary card (loa2)</label>
</fieldset>
<button type="submit">Sign in</button>
</form></body></html>`;
}

async function readForm(req) {
  let body = "";
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

async function interaction(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error("interaction mismatch");
  if (req.method === "GET") {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(loginPage(uid));
    return;
  }
  const form = await readForm(req);
  const accountId = form.get("sub");
  const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId, acr: form.get("acr") }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, issuer);
    const match = url.pathname.match(/^\/interaction\/([^/]+)$/);
    if (match) {
      await interaction(req, res, match[1]);
    } else if (url.pathname === "/test/publish-other-keys" && req.method === "POST") {
      publishOtherKeys = true;
      res.writeHead(204).end();
    } else if (url.pathname === "/jwks" && publishOtherKeys) {
      res.writeHead(200, { "Content-Type": "application/jwk-set+json" });
      res.end(JSON.stringify({ keys: [publicPart(other)] }));
    } else {
      callback(req, res);
    }
  } catch (error) {
    res.writeHead(500, { "Content-Type": "text/plain" });
    res.end(String(error));
  }
});

server.listen(0, "127.0.0.1", () => {
  issuer = `http://127.0.0.1:${server.address().port}`;
  configure();
  process.stdout.write(JSON.stringify({ issuer }) + "\n");
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
