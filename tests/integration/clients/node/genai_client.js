// genai_client.js - the @google/genai SDK (clients/node/package.json) making
// each exchange: models.generateContent, or generateContentStream for
// :streamGenerateContent.  The REST body of the case becomes the SDK's
// parameters (contents, and the generation config and cached content as
// config), so that the SDK sends that same body.  See common.js for the
// command line and the output.
'use strict';

const path = require('path');
const { pathToFileURL } = require('url');
const { run } = require('./common.js');

// @google/genai 1.0.0 is an ES module that require() cannot load, and
// import() does not search NODE_PATH: its Node entry is imported by path.
const sdk = import(pathToFileURL(path.join(process.env.NODE_PATH, '@google', 'genai', 'dist',
  'node', 'index.mjs')).href);

run(async (ex) => {
  const { GoogleGenAI } = await sdk;
  const ai = new GoogleGenAI({ apiKey: ex.apiKey, httpOptions: { headers: ex.headers } });
  const m = /^\/v1beta\/models\/([^:]+):(generateContent|streamGenerateContent)$/.exec(ex.url.pathname);
  if (!m) throw new Error('no genai SDK call for ' + ex.url.pathname);
  const { contents, generationConfig, cachedContent } = ex.body;
  const config = Object.assign({}, generationConfig, cachedContent ? { cachedContent } : {});
  const params = { model: m[1], contents, config };
  return m[2] === 'generateContent' ? ai.models.generateContent(params) : ai.models.generateContentStream(params);
});
