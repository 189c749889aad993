export { StaffModule } from './staff.module';
export { StaffRole } from './staff-role';
export { addStaffSecuritySchemes } from './staff-auth.guard';
