// Setting a property whose name comes from outside (an OTLP key, a JSON key, a stage field): `__proto__` would set
// the object's prototype instead of a property (the key lost, and the keys of the value found through the prototype
// as if they were the object's own), so it is defined as an own property, as JSON.parse does.

export function setOwnProperty(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  else target[key] = value;
}
