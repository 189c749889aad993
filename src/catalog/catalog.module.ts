import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Module } from '@nestjs/common';
import { CatalogController } from './catalog.controller';
import { CatalogReader } from './catalog.reader';
import { CatalogService } from './catalog.service';
import { Product } from './product.entity';

@Module({
  imports: [MikroOrmModule.forFeature([Product])],
  controllers: [CatalogController],
  providers: [CatalogService, CatalogReader],
  exports: [CatalogReader],
})
export class CatalogModule {}
