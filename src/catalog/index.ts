export { CatalogModule } from './catalog.module';
export { CatalogReader, type PricedProduct } from './catalog.reader';
