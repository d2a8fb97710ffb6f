/* logging.h (ipcx TSan shim): everything is in criterion.h. */
#include "criterion.h"
