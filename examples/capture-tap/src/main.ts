import { captureTap } from './capture-tap.js';

await captureTap((line) => console.log(line));
