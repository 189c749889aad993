import { DomainError } from '../shared/domain-error';

export class StaffMemberExistsError extends DomainError {
  readonly code = 'STAFF.EXISTS';
  readonly kind = 'conflict';
  constructor() {
    super('A staff member with this e-mail already exists', 'email');
  }
}

export class StaffMemberNotFoundError extends DomainError {
  readonly code = 'STAFF.NOT_FOUND';
  readonly kind = 'not_found';
  constructor() {
    super('No staff member with this e-mail', 'email');
  }
}

export class WeakPasswordError extends DomainError {
  readonly code = 'STAFF.WEAK_PASSWORD';
  readonly kind = 'unprocessable';
  constructor(problem: string) {
    super(problem, 'password');
  }
}
