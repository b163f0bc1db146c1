import express from 'express';
import express4 from 'express4';
import Koa from 'koa';
import Koa2 from 'koa2';
import { adapterConformance } from './adapter-conformance.js';
import { expressDriver } from './drivers/express.js';
import { koaDriver } from './drivers/koa.js';

// One line per adapter and framework version; each runs the whole conformance table.
adapterConformance(expressDriver('Express 5', express));
adapterConformance(expressDriver('Express 4', express4));
adapterConformance(koaDriver('Koa 3', Koa));
adapterConformance(koaDriver('Koa 2', Koa2));
