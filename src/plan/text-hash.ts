/**
 * SHA-256 of text given in many small pieces (a saved plan's hash: a few pieces per operation,
 * millions of them, issue #17). The pieces are joined into larger strings before they are
 * hashed: one `update` per piece costs more than the hashing. The digest is that of the pieces'
 * UTF-8 concatenated, as long as no piece ends inside a surrogate pair (JSON.stringify's text
 * never does: it escapes a lone surrogate).
 */
import { createHash, type Hash } from 'node:crypto';

/** Text joined before it is hashed: large enough to make `update` calls few. */
const JOIN = 1 << 16;

export class TextHash {
  readonly #hash: Hash = createHash('sha256');
  #pending = '';

  update(text: string): void {
    this.#pending += text;
    if (this.#pending.length >= JOIN) {
      this.#hash.update(this.#pending);
      this.#pending = '';
    }
  }

  /** `sha256:<hex>`; the hash is used up. */
  digest(): string {
    this.#hash.update(this.#pending);
    this.#pending = '';
    return `sha256:${this.#hash.digest('hex')}`;
  }
}
