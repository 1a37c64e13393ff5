// Small retrieval models an agentic stack keeps resident beside its LLMs: embedders and rerankers.
// Minimal specs, each with cited sizes. BERT-family encoders keep no KV cache in llama.cpp
// (llama_model::create_memory returns no memory for BERT / NOMIC_BERT), so their layers carry 0 KV heads;
// Qwen3-Embedding is a causal Qwen3 decoder and does keep one.
import type { ModelSpec } from './types';

export interface EncoderModel {
  spec: ModelSpec;
  role: 'embedding' | 'reranker';
  /** Names people type: Ollama tags, HF ids. */
  aliases: string[];
  /** Quant the usual distribution ships (Ollama default tag). */
  defaultQuant: string;
  /** Published file sizes to check our weight estimate against. */
  publishedSizes: { quant: string; bytes: number; source: string }[];
  sources: string[];
}

function encoder(
  id: string,
  name: string,
  arch: string,
  params: number,
  nLayers: number,
  hidden: number,
  heads: number,
  vocab: number,
  ctx: number,
): ModelSpec {
  return {
    id, name, arch, source: 'catalog', totalParams: params, activeParams: params, nLayers, hiddenSize: hidden, nHeads: heads,
    nKvHeadsPerLayer: new Array<number>(nLayers).fill(0), headDimK: hidden / heads, headDimV: hidden / heads, vocabSize: vocab, contextTrain: ctx,
  };
}

export const ENCODER_MODELS: readonly EncoderModel[] = [
  {
    spec: encoder('nomic-ai/nomic-embed-text-v1.5', 'nomic-embed-text v1.5', 'nomic-bert', 137_000_000, 12, 768, 12, 30522, 8192),
    role: 'embedding',
    aliases: ['nomic-embed-text', 'nomic-embed-text:latest', 'nomic-embed-text-v1.5'],
    defaultQuant: 'F16',
    publishedSizes: [{ quant: 'F16', bytes: 274e6, source: 'Ollama library nomic-embed-text (274MB), via morphllm.com/ollama-embedding-models' }],
    sources: ['137M params, 768 dims, 8192 context: builddaily.io/resources/nomic-embed-text; 12 layers (BERT-base shape) per nomic-ai model card'],
  },
  {
    spec: encoder('BAAI/bge-m3', 'BGE-M3', 'bert', 567_000_000, 24, 1024, 16, 250002, 8192),
    role: 'embedding',
    aliases: ['bge-m3', 'bge-m3:latest', 'bge-m3:567m'],
    defaultQuant: 'F16',
    publishedSizes: [{ quant: 'F16', bytes: 1.2e9, source: 'Ollama library bge-m3 (1.2GB), via morphllm.com/ollama-embedding-models' }],
    sources: ['config: XLM-RoBERTa, 24 layers, hidden 1024, 16 heads, vocab 250002, 8194 positions (huggingface.co/liuyanyi/bge-m3-hf config.json); 567M params (huggingface.co/rbehzadan/bge-m3-gguf, arch bert)'],
  },
  {
    spec: {
      id: 'Qwen/Qwen3-Embedding-0.6B', name: 'Qwen3-Embedding-0.6B', arch: 'qwen3', source: 'catalog', totalParams: 595_776_512, activeParams: 595_776_512,
      nLayers: 28, hiddenSize: 1024, nHeads: 16, nKvHeadsPerLayer: new Array<number>(28).fill(8), headDimK: 128, headDimV: 128, vocabSize: 151669,
      contextTrain: 32768, ffnSize: 3072, tiedEmbeddings: true,
    },
    role: 'embedding',
    aliases: ['qwen3-embedding', 'qwen3-embedding:0.6b', 'qwen3-embedding-0.6b'],
    defaultQuant: 'Q8_0',
    publishedSizes: [
      { quant: 'Q8_0', bytes: 639e6, source: 'ollama.com/library/qwen3-embedding:0.6b-q8_0 (639MB, 596M, qwen3)' },
      { quant: 'F16', bytes: 1.2e9, source: 'ollama.com/library/qwen3-embedding:0.6b-fp16 (1.2GB)' },
    ],
    sources: ['595,776,512 params, 32k context (keras-team/keras-hub PR #2455 presets); 28 layers, 1024 dims (vercel.com AI gateway model page); Qwen3-0.6B shape: 16 Q / 8 KV heads × 128, FFN 3072, tied embeddings'],
  },
  {
    spec: encoder('BAAI/bge-reranker-v2-m3', 'bge-reranker-v2-m3', 'bert', 568_000_000, 24, 1024, 16, 250002, 8192),
    role: 'reranker',
    aliases: ['bge-reranker-v2-m3', 'bge-reranker', 'bge-reranker-v2-m3:latest'],
    defaultQuant: 'Q8_0',
    publishedSizes: [
      { quant: 'Q8_0', bytes: 582e6, source: 'huggingface.co/cstr/bge-reranker-v2-m3-GGUF (q8_0 582 MB)' },
      { quant: 'F32', bytes: 2171e6, source: 'huggingface.co/cstr/bge-reranker-v2-m3-GGUF (F32 2171 MB)' },
    ],
    sources: ['568M params, fine-tuned from bge-m3 (XLMRobertaForSequenceClassification, 24 layers, hidden 1024, vocab 250002): docs.twcloud.ai model page; hotchpotch/japanese-bge-reranker-v2-m3-v1 config.json'],
  },
];

function key(s: string): string {
  return s.trim().toLowerCase();
}

/** An embedder / reranker by HF id, name or Ollama tag. */
export function findEncoder(name: string): EncoderModel | undefined {
  const k = key(name);
  return ENCODER_MODELS.find((e) => key(e.spec.id) === k || key(e.spec.name) === k || e.aliases.some((a) => key(a) === k));
}
