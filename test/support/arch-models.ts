// Zero-weight GGUFs with the real hyperparameters of architectures the shared groundtruth lacks
// (DeepSeek-V2-Lite MLA, gpt-oss sliding window + MXFP4 experts, Qwen3-Next hybrid), cut to a few layers. Values don't
// matter for memory; names, shapes and types must be exactly what llama.cpp's loader expects
// (src/models/deepseek2.cpp, openai-moe.cpp, qwen3next.cpp). Used by measure-archs.ts to record real
// llama-server allocations that test/estimator/measured-archs.test.ts checks the estimator against.
import { writeGguf, type GgufKv, type GgufTensor } from './gguf-writer';

const F32 = 0, Q4_0 = 2, Q8_0 = 8, MXFP4 = 39;

function vocab(n: number): GgufKv[] {
  const tokens = ['<unk>', '<s>', '</s>'];
  for (let i = tokens.length; i < n; i++) tokens.push(`▁t${i}`);
  const types = tokens.map((_, i) => (i === 0 ? 2 : i < 3 ? 3 : 1));
  return [
    { key: 'tokenizer.ggml.model', type: 'STRING', value: 'llama' },
    { key: 'tokenizer.ggml.tokens', type: 'ARRAY', itemType: 'STRING', value: tokens },
    { key: 'tokenizer.ggml.scores', type: 'ARRAY', itemType: 'FLOAT32', value: tokens.map((_, i) => -i) },
    { key: 'tokenizer.ggml.token_type', type: 'ARRAY', itemType: 'INT32', value: types },
    { key: 'tokenizer.ggml.unknown_token_id', type: 'UINT32', value: 0 },
    { key: 'tokenizer.ggml.bos_token_id', type: 'UINT32', value: 1 },
    { key: 'tokenizer.ggml.eos_token_id', type: 'UINT32', value: 2 },
  ];
}

const u32 = (key: string, value: number): GgufKv => ({ key, type: 'UINT32', value });
const f32 = (key: string, value: number): GgufKv => ({ key, type: 'FLOAT32', value });
const t = (name: string, shape: number[], type = shape.length === 1 ? F32 : Q8_0): GgufTensor => ({ name, type, shape });

/** DeepSeek-V2-Lite shape (MLA, 64 experts / 6 used, 2 shared), `nLayers` with the first dense. */
export function deepseek2Lite(nLayers = 3, nVocab = 8192): Buffer {
  const e = 2048, nHead = 16, kvLora = 512, rope = 64, nope = 128, vDim = 128, nExp = 64, ffExp = 1408, ff = 10944, shared = 2;
  const a = 'deepseek2';
  const metadata: GgufKv[] = [
    { key: 'general.architecture', type: 'STRING', value: a },
    { key: 'general.name', type: 'STRING', value: `deepseek2-lite-shape-${nLayers}L` },
    u32(`${a}.block_count`, nLayers), u32(`${a}.context_length`, 163840), u32(`${a}.embedding_length`, e),
    u32(`${a}.feed_forward_length`, ff), u32(`${a}.attention.head_count`, nHead), u32(`${a}.attention.head_count_kv`, 1),
    u32(`${a}.attention.key_length`, kvLora + rope), u32(`${a}.attention.value_length`, kvLora),
    u32(`${a}.attention.key_length_mla`, nope + rope), u32(`${a}.attention.value_length_mla`, vDim),
    f32(`${a}.rope.freq_base`, 10000), f32(`${a}.attention.layer_norm_rms_epsilon`, 1e-6),
    u32(`${a}.vocab_size`, nVocab), u32(`${a}.leading_dense_block_count`, 1), u32(`${a}.attention.q_lora_rank`, 0),
    u32(`${a}.attention.kv_lora_rank`, kvLora), u32(`${a}.expert_feed_forward_length`, ffExp), u32(`${a}.expert_count`, nExp),
    u32(`${a}.expert_used_count`, 6), u32(`${a}.expert_shared_count`, shared), f32(`${a}.expert_weights_scale`, 1),
    u32(`${a}.rope.dimension_count`, rope),
    ...vocab(nVocab),
  ];
  const tensors: GgufTensor[] = [t('token_embd.weight', [e, nVocab]), t('output_norm.weight', [e]), t('output.weight', [e, nVocab])];
  for (let i = 0; i < nLayers; i++) {
    const b = `blk.${i}.`;
    tensors.push(
      t(b + 'attn_norm.weight', [e]),
      t(b + 'attn_kv_a_norm.weight', [kvLora]),
      t(b + 'attn_q.weight', [e, nHead * (nope + rope)]),
      t(b + 'attn_kv_a_mqa.weight', [e, kvLora + rope]),
      t(b + 'attn_k_b.weight', [nope, kvLora, nHead]),
      t(b + 'attn_v_b.weight', [kvLora, vDim, nHead]),
      t(b + 'attn_output.weight', [nHead * vDim, e]),
      t(b + 'ffn_norm.weight', [e]),
    );
    if (i < 1) tensors.push(t(b + 'ffn_gate.weight', [e, ff]), t(b + 'ffn_down.weight', [ff, e]), t(b + 'ffn_up.weight', [e, ff]));
    else {
      tensors.push(
        t(b + 'ffn_gate_inp.weight', [e, nExp], F32),
        t(b + 'ffn_gate_exps.weight', [e, ffExp, nExp], Q4_0),
        t(b + 'ffn_down_exps.weight', [ffExp, e, nExp], Q4_0),
        t(b + 'ffn_up_exps.weight', [e, ffExp, nExp], Q4_0),
        t(b + 'ffn_gate_shexp.weight', [e, ffExp * shared]),
        t(b + 'ffn_down_shexp.weight', [ffExp * shared, e]),
        t(b + 'ffn_up_shexp.weight', [e, ffExp * shared]),
      );
    }
  }
  return writeGguf({ metadata, tensors });
}

/** gpt-oss-20b shape (64 heads × 64, 8 KV heads, SWA 128 on even layers, 32 MXFP4 experts / 4 used). */
export function gptOss20b(nLayers = 2, nVocab = 8192): Buffer {
  const e = 2880, nHead = 64, nKv = 8, hd = 64, nExp = 32, ffExp = 2880;
  const a = 'gpt-oss';
  const metadata: GgufKv[] = [
    { key: 'general.architecture', type: 'STRING', value: a },
    { key: 'general.name', type: 'STRING', value: `gpt-oss-20b-shape-${nLayers}L` },
    u32(`${a}.block_count`, nLayers), u32(`${a}.context_length`, 131072), u32(`${a}.embedding_length`, e),
    u32(`${a}.feed_forward_length`, ffExp), u32(`${a}.attention.head_count`, nHead), u32(`${a}.attention.head_count_kv`, nKv),
    u32(`${a}.attention.key_length`, hd), u32(`${a}.attention.value_length`, hd), u32(`${a}.rope.dimension_count`, hd),
    f32(`${a}.rope.freq_base`, 150000), f32(`${a}.attention.layer_norm_rms_epsilon`, 1e-5),
    u32(`${a}.attention.sliding_window`, 128), u32(`${a}.expert_count`, nExp), u32(`${a}.expert_used_count`, 4),
    u32(`${a}.expert_feed_forward_length`, ffExp), u32(`${a}.vocab_size`, nVocab),
    ...vocab(nVocab),
  ];
  const tensors: GgufTensor[] = [t('token_embd.weight', [e, nVocab]), t('output_norm.weight', [e]), t('output.weight', [e, nVocab])];
  for (let i = 0; i < nLayers; i++) {
    const b = `blk.${i}.`;
    tensors.push(
      t(b + 'attn_norm.weight', [e]),
      t(b + 'post_attention_norm.weight', [e]),
      t(b + 'attn_q.weight', [e, nHead * hd]),
      t(b + 'attn_k.weight', [e, nKv * hd]),
      t(b + 'attn_v.weight', [e, nKv * hd]),
      t(b + 'attn_q.bias', [nHead * hd]),
      t(b + 'attn_k.bias', [nKv * hd]),
      t(b + 'attn_v.bias', [nKv * hd]),
      t(b + 'attn_output.weight', [nHead * hd, e]),
      t(b + 'attn_output.bias', [e]),
      t(b + 'attn_sinks.weight', [nHead]),
      t(b + 'ffn_gate_inp.weight', [e, nExp], F32),
      t(b + 'ffn_gate_inp.bias', [nExp]),
      t(b + 'ffn_gate_exps.weight', [e, ffExp, nExp], MXFP4),
      t(b + 'ffn_down_exps.weight', [ffExp, e, nExp], MXFP4),
      t(b + 'ffn_up_exps.weight', [e, ffExp, nExp], MXFP4),
      t(b + 'ffn_gate_exps.bias', [ffExp, nExp], F32),
      t(b + 'ffn_down_exps.bias', [e, nExp], F32),
      t(b + 'ffn_up_exps.bias', [ffExp, nExp], F32),
    );
  }
  return writeGguf({ metadata, tensors });
}


/** Qwen3-Next-80B-A3B shape (gated DeltaNet on 3 of every 4 layers, 10 of `nExp` experts + shared), `nLayers` layers. */
export function qwen3Next(nLayers = 4, nVocab = 8192, nExp = 128): Buffer {
  const e = 2048, nHead = 16, nKv = 2, hd = 256, ffExp = 512, ffSh = 512;
  const dState = 128, nGroup = 16, dtRank = 32, dConv = 4;
  const keyDim = dState * nGroup, valueDim = dState * dtRank;
  const a = 'qwen3next';
  const metadata: GgufKv[] = [
    { key: 'general.architecture', type: 'STRING', value: a },
    { key: 'general.name', type: 'STRING', value: `qwen3next-80b-shape-${nLayers}L` },
    u32(`${a}.block_count`, nLayers), u32(`${a}.context_length`, 262144), u32(`${a}.embedding_length`, e),
    u32(`${a}.feed_forward_length`, 5120), u32(`${a}.attention.head_count`, nHead), u32(`${a}.attention.head_count_kv`, nKv),
    u32(`${a}.attention.key_length`, hd), u32(`${a}.attention.value_length`, hd), u32(`${a}.rope.dimension_count`, 64),
    f32(`${a}.rope.freq_base`, 10000000), f32(`${a}.attention.layer_norm_rms_epsilon`, 1e-6),
    u32(`${a}.expert_count`, nExp), u32(`${a}.expert_used_count`, 10), u32(`${a}.expert_feed_forward_length`, ffExp),
    u32(`${a}.expert_shared_feed_forward_length`, ffSh), u32(`${a}.ssm.conv_kernel`, dConv), u32(`${a}.ssm.inner_size`, valueDim),
    u32(`${a}.ssm.state_size`, dState), u32(`${a}.ssm.time_step_rank`, dtRank), u32(`${a}.ssm.group_count`, nGroup),
    u32(`${a}.full_attention_interval`, 4), u32(`${a}.vocab_size`, nVocab),
    ...vocab(nVocab),
  ];
  const tensors: GgufTensor[] = [t('token_embd.weight', [e, nVocab]), t('output_norm.weight', [e]), t('output.weight', [e, nVocab])];
  for (let i = 0; i < nLayers; i++) {
    const b = `blk.${i}.`;
    tensors.push(t(b + 'attn_norm.weight', [e]), t(b + 'post_attention_norm.weight', [e]));
    if ((i + 1) % 4 === 0) {
      tensors.push(
        t(b + 'attn_q.weight', [e, hd * nHead * 2]),
        t(b + 'attn_k.weight', [e, hd * nKv]),
        t(b + 'attn_v.weight', [e, hd * nKv]),
        t(b + 'attn_output.weight', [hd * nHead, e]),
        t(b + 'attn_q_norm.weight', [hd]),
        t(b + 'attn_k_norm.weight', [hd]),
      );
    } else {
      tensors.push(
        t(b + 'attn_qkv.weight', [e, keyDim * 2 + valueDim]),
        t(b + 'attn_gate.weight', [e, valueDim]),
        t(b + 'ssm_conv1d.weight', [dConv, keyDim * 2 + valueDim], F32),
        t(b + 'ssm_dt.bias', [dtRank]),
        t(b + 'ssm_a', [dtRank]),
        t(b + 'ssm_ba.weight', [e, dtRank * 2]),
        t(b + 'ssm_norm.weight', [dState]),
        t(b + 'ssm_out.weight', [valueDim, e]),
      );
    }
    tensors.push(
      t(b + 'ffn_gate_inp.weight', [e, nExp], F32),
      t(b + 'ffn_gate_exps.weight', [e, ffExp, nExp], Q4_0),
      t(b + 'ffn_down_exps.weight', [ffExp, e, nExp], Q4_0),
      t(b + 'ffn_up_exps.weight', [e, ffExp, nExp], Q4_0),
      t(b + 'ffn_gate_inp_shexp.weight', [e]),
      t(b + 'ffn_gate_shexp.weight', [e, ffSh]),
      t(b + 'ffn_up_shexp.weight', [e, ffSh]),
      t(b + 'ffn_down_shexp.weight', [ffSh, e]),
    );
  }
  return writeGguf({ metadata, tensors });
}
