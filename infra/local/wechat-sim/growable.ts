type NumericArray = Uint8Array | Uint16Array | Int32Array | Float64Array;

/**
 * Returns `array` or a doubled copy with room for index `index`. Typed columns instead of one object
 * per user/delivery keep a million-user run to tens of megabytes.
 */
export function ensureCapacity<A extends NumericArray>(array: A, index: number): A {
  if (index < array.length) return array;
  const Ctor = array.constructor as new (length: number) => A;
  const bigger = new Ctor(Math.max(index + 1, array.length * 2));
  bigger.set(array);
  return bigger;
}
