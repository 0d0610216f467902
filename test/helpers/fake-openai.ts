/**
 * A scripted OpenAI-compatible chat-completions server on 127.0.0.1 for tests, so the real
 * ChatOpenAI client (retries, tool calls, usage) is exercised without a network.
 *
 * Each POST /v1/chat/completions takes the next scripted reply from the queue:
 *   - { tool: {...args} }           a tool-call answer with these JSON arguments
 *   - { toolText: "not json" }      a tool-call answer whose arguments are this raw text
 *   - { text: "..." }               a plain assistant message (no tool call)
 *   - { status: 429, retryAfter? }  an HTTP error (with an optional Retry-After header)
 * A tool reply with `delayMs` is sent that late (to provoke client timeouts).
 * When the queue is empty it answers 500 "no scripted reply", so a test that asks more
 * often than it scripted fails loudly. Every request is recorded (body + headers).
 */
import http from "node:http";
import net, { type AddressInfo } from "node:net";

export type FakeReply =
  | { tool: unknown; usage?: Partial<FakeUsage>; delayMs?: number }
  | { toolText: string; usage?: Partial<FakeUsage> }
  | { text: string; usage?: Partial<FakeUsage> }
  | { status: number; retryAfter?: string; message?: string };

export interface FakeUsage {
  prompt_tokens: number;
  completion_tokens: number;
  cost: number;
}

export interface RecordedRequest {
  body: {
    model?: string;
    messages: Array<{ role: string; content: unknown }>;
    tools?: Array<{ function: { name: string; parameters?: { properties?: Record<string, unknown> } } }>;
    [k: string]: unknown;
  };
  headers: http.IncomingHttpHeaders;
}

export interface FakeOpenAI {
  /** e.g. http://127.0.0.1:PORT/v1 — use as NAS_LLM_BASE_URL. */
  baseURL: string;
  requests: RecordedRequest[];
  enqueue: (...replies: FakeReply[]) => void;
  /** Replies not consumed yet. */
  pending: () => number;
  close: () => Promise<void>;
}

const DEFAULT_USAGE: FakeUsage = { prompt_tokens: 100, completion_tokens: 20, cost: 0.001 };

export async function startFakeOpenAI(): Promise<FakeOpenAI> {
  const queue: FakeReply[] = [];
  const requests: RecordedRequest[] = [];
  let counter = 0;

  const server = http.createServer((req, res) => {
    let data = "";
    req.on("data", (chunk) => (data += chunk));
    req.on("end", () => {
      if (req.method !== "POST" || !req.url?.endsWith("/chat/completions")) {
        return sendJson(res, 404, { error: { message: `fake server: no route ${req.method} ${req.url}` } });
      }
      const body = JSON.parse(data) as RecordedRequest["body"];
      requests.push({ body, headers: req.headers });
      const reply = queue.shift();
      if (!reply) return sendJson(res, 500, { error: { message: "fake server: no scripted reply" } });
      if ("status" in reply) {
        const headers: Record<string, string> = reply.retryAfter ? { "retry-after": reply.retryAfter } : {};
        return sendJson(res, reply.status, { error: { message: reply.message ?? `fake status ${reply.status}` } }, headers);
      }
      if ("tool" in reply && reply.delayMs) {
        const { delayMs, ...rest } = reply;
        return void setTimeout(() => answer(res, body, rest), delayMs);
      }
      answer(res, body, reply);
    });
  });

  function answer(res: http.ServerResponse, body: RecordedRequest["body"], reply: Exclude<FakeReply, { status: number }>) {
    if (res.destroyed) return;
    counter += 1;
    const usage = { ...DEFAULT_USAGE, ...reply.usage };
    const toolName = body.tools?.[0]?.function.name ?? "extract";
    const message =
      "text" in reply
        ? { role: "assistant", content: reply.text }
        : {
            role: "assistant",
            content: null,
            tool_calls: [
              {
                id: `call_${counter}`,
                type: "function",
                function: {
                  name: toolName,
                  arguments: "tool" in reply ? JSON.stringify(reply.tool) : reply.toolText,
                },
              },
            ],
          };
    sendJson(res, 200, {
      id: `chatcmpl-${counter}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: body.model ?? "fake",
      choices: [{ index: 0, message, finish_reason: "text" in reply ? "stop" : "tool_calls" }],
      usage: {
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        total_tokens: usage.prompt_tokens + usage.completion_tokens,
        cost: usage.cost,
      },
    });
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    enqueue: (...replies) => void queue.push(...replies),
    pending: () => queue.length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function sendJson(res: http.ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(payload));
}

/** The text of the last user message of a recorded request (the prompt or the re-ask). */
export function lastUserText(req: RecordedRequest): string {
  const users = req.body.messages.filter((m) => m.role === "user");
  const content = users[users.length - 1]?.content;
  return typeof content === "string" ? content : JSON.stringify(content);
}

/** A port on 127.0.0.1 that nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
