// The one request every consumer evaluates; the test asks the server the same and compares.
export const request = {
  flagKey: 'new-checkout',
  entityId: 'user-7',
  context: { plan: 'pro', seats: '12', country: 'NL' },
};
