// The API's types for the UI's JSDoc annotations, from the TypeScript
// SDK's types generated from openapi.yaml: a field the UI reads that the
// API no longer has fails `tsc -p web` (sdk TestWebUITypes). tsconfig.json checks the files that start with // @ts-check (ours, not vendor/).
export type { components, paths } from '../sdk/typescript/src/generated/openapi';
