/** The header is missing, truncated or self-contradictory. */
export class HeaderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HeaderError';
  }
}

/** The file's structure is damaged in a way the reference decoders refuse (bad CRC, wrong lengths, bogus tables). */
export class StructureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StructureError';
  }
}
