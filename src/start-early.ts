// Imported first by main.ts: work that can run on other threads while the server's modules load.
import { generateFirstStartKey } from './tokens/first-start-key.js';

generateFirstStartKey();
