import { QUICConnection } from '@matrixai/quic';
const P: any = QUICConnection.prototype; const orig = P.processStreams;
P.processStreams = function () { const ids = [...this.conn.readable()]; process.stderr.write(`orig processStreams readable ${ids} known ${[...this.streamMap.keys()]}\n`); return orig.call(this); };
await import('./fence1.js');
