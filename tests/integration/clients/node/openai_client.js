// openai_client.js - the openai SDK (clients/node/package.json) making each
// exchange: chat completions (streamed when the body says stream) and the
// Responses API.  See common.js for the command line and the output.
'use strict';

const OpenAI = require('openai');
const { run } = require('./common.js');

run(async (ex) => {
  const client = new OpenAI({ apiKey: ex.apiKey, baseURL: ex.url.origin + '/v1' });
  const opts = { headers: ex.headers };
  if (ex.url.pathname === '/v1/chat/completions') return client.chat.completions.create(ex.body, opts);
  if (ex.url.pathname === '/v1/responses') return client.responses.create(ex.body, opts);
  throw new Error('no openai SDK call for ' + ex.url.pathname);
});
