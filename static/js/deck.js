/**
 * The order the collection page asks for digits in: each round asks for all ten once, the
 * least-collected first (ties in random order), so the dataset grows balanced even when people
 * skip, and nobody is asked for the same digit twice in a row.
 */

function shuffled(items, random) {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

const DIGITS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

export class Deck {
  #round = [];
  #last = null;

  constructor(random = Math.random) {
    this.random = random;
  }

  /** The next digit to ask for; `counts` ({"0": n, …} or null when unknown) orders a new round. */
  next(counts) {
    if (this.#round.length === 0) this.#round = this.#deal(counts);
    this.#last = this.#round.shift();
    return this.#last;
  }

  #deal(counts) {
    // Shuffle first: the sort is stable, so equally collected digits keep the random order.
    const round = shuffled(DIGITS, this.random);
    if (counts) round.sort((a, b) => (counts[a] ?? 0) - (counts[b] ?? 0));
    if (round[0] === this.#last) round.push(round.shift());
    return round;
  }
}
