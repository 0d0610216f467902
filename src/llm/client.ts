/**
 * The chat model, built lazily so that importing this module does not load LangChain
 * (the CLI's start-up stays fast). Never log the returned object: it holds the API key.
 */
import type { ChatOpenAI } from "@langchain/openai";
import type { LlmSettings } from "./settings.js";

export const APP_URL = "https://github.com/nas-graph/nas-graph";
export const APP_TITLE = "nas-graph";

export async function createChatModel(settings: LlmSettings): Promise<ChatOpenAI> {
  const { ChatOpenAI } = await import("@langchain/openai");
  return new ChatOpenAI({
    model: settings.model,
    apiKey: settings.apiKey,
    temperature: settings.temperature,
    maxRetries: settings.maxRetries,
    timeout: settings.timeoutMs,
    configuration: {
      baseURL: settings.baseURL,
      // OpenRouter's app attribution headers; harmless for other OpenAI-compatible servers.
      defaultHeaders: { "HTTP-Referer": APP_URL, "X-Title": APP_TITLE },
    },
    // Ask OpenRouter to report the cost of each call in the usage block.
    modelKwargs: { usage: { include: true } },
  });
}
