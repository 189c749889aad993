export { StaffModule } from './staff.module';
export { StaffRole } from './staff-role';
